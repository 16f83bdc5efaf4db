import path from 'node:path';
import { archiveDirOf, listServerLogs } from '../backup/redo-archive';
import { decodeFileHeader, FILE_HEADER_SIZE, type RedoFileHeader } from '../redolog';
import type { ServerAccess } from '../server/server-access';
import type { HeldRedoLog, SnapshotEntry, VolumeRecord } from './record';
import type { StandbyDir } from './standby-dir';
import {
  appendRange,
  appendVerified,
  rangeSha256,
  readRange,
  standbySize,
  type Sent,
  type TransferHooks,
} from './transfer';

/**
 * The redo-log snapshot by copy: archived logs the standby does not hold whole are completed
 * (only their new bytes are sent, plus the header, which Zimbra rewrites on every flush), and
 * the live redo.log is cut at the file size its header states at the moment it is read: the
 * header is written after the records it counts, so the cut holds whole records only, and every
 * op whose commit was on disk before that moment is in the copy. That moment is the snapshot's
 * time, where the data-loss window of a failover begins.
 */
export async function snapshotRedoLogs(
  primary: ServerAccess,
  dir: StandbyDir,
  entry: SnapshotEntry,
  record: VolumeRecord,
  hooks: TransferHooks,
): Promise<void> {
  const logs = (record.logs ??= []);
  const sent: Sent = { bytes: 0, files: 0 };
  const put = (log: HeldRedoLog) => {
    const i = logs.findIndex((l) => l.seq === log.seq);
    if (i >= 0) logs[i] = log;
    else logs.push(log);
    logs.sort((a, b) => a.seq - b.seq);
  };
  const t = primary.transport;
  try {
    const archiveDir = archiveDirOf(primary);
    // A rollover while redo.log is copied sends the attempt round again: the log is archived now.
    for (let round = 1; ; round++) {
      for (const log of await listServerLogs(primary)) {
        const held = logs.find((l) => l.seq === log.seq);
        if (held?.closed) continue;
        const src = path.posix.join(archiveDir, log.name);
        const info = await t.stat(src);
        if (!info) continue;
        const rel = `redolog/seq-${log.seq}.log`;
        const have = await startFrom(dir, rel, info.size);
        await appendRange(t, src, dir, rel, have, info.size, hooks, sent);
        await writeHeader(dir, rel, await readRange(t, src, 0, FILE_HEADER_SIZE));
        const [mine, theirs] = await Promise.all([
          rangeSha256(dir.transport, dir.abs(rel)),
          rangeSha256(t, src),
        ]);
        if (mine !== theirs) {
          await dir.run(['truncate', '-s', '0', '--', dir.abs(rel)]);
          throw new Error(
            `${log.name}: the standby's copy does not match the primary's (SHA-256); it will be sent again`,
          );
        }
        put({ seq: log.seq, archiveName: log.name, size: info.size, closed: true });
        sent.files++;
      }

      const live = path.posix.join(primary.zimbraHome, 'redolog/redo.log');
      entry.takenAt = Date.now();
      const cut = await copyLive(primary, dir, live, logs, hooks, sent);
      if (cut === 'rolled over') {
        if (round < 5) continue;
        throw new Error(`${primary.name}: redo.log rolled over during each of 5 copies`);
      }
      put({ seq: cut.seq, archiveName: null, size: cut.fileSize, closed: false });
      sent.files++;
      entry.redo = { seq: cut.seq, cutBytes: cut.fileSize, lastOpTime: cut.lastOpTime };
      return;
    }
  } finally {
    entry.files += sent.files;
    entry.bytes += sent.bytes;
  }
}

/**
 * Where to go on from: the copy's size. Logs only grow and every append lands whole or as a
 * prefix, so what the standby holds is a prefix of the source (its header is rewritten after),
 * unless it is longer: then it is sent again from scratch.
 */
async function startFrom(dir: StandbyDir, rel: string, size: number): Promise<number> {
  const have = await standbySize(dir, rel);
  if (have <= size) return have;
  await dir.sh('mkdir -p -- "$(dirname -- "$1")" && : > "$1"', [dir.abs(rel)]);
  return 0;
}

async function writeHeader(dir: StandbyDir, rel: string, header: Buffer): Promise<void> {
  await dir.sh('dd of="$1" bs=512 count=1 conv=notrunc status=none', [dir.abs(rel)], header);
}

/**
 * One read of the live log on the primary: its header, then body bytes from `bodyFrom`, both
 * through one open file, so a rollover between the two cannot mix two logs.
 */
async function readLive(primary: ServerAccess, live: string, bodyFrom: number, length: number) {
  const r = await primary.transport.exec(
    [
      'sh',
      '-c',
      'exec 3< "$1" && dd bs=512 count=1 status=none <&3 && dd bs=1048576 iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none <&3',
      'sh',
      live,
      String(bodyFrom - FILE_HEADER_SIZE),
      String(length),
    ],
    { timeoutMs: 600_000 },
  );
  if (r.code !== 0 || r.stdout.length < FILE_HEADER_SIZE)
    throw new Error(`${primary.name}: cannot read ${live} (${r.code}): ${r.stderr.trim()}`);
  return { headerBytes: r.stdout.subarray(0, FILE_HEADER_SIZE), body: r.stdout.subarray(FILE_HEADER_SIZE) };
}

/**
 * Copies the live redo.log up to the file size its header states when first read (the cut),
 * and returns that header; 'rolled over' when the log was archived during the copy (what was
 * sent stays, a prefix of the archived log).
 */
async function copyLive(
  primary: ServerAccess,
  dir: StandbyDir,
  live: string,
  logs: HeldRedoLog[],
  hooks: TransferHooks,
  sent: Sent,
): Promise<RedoFileHeader | 'rolled over'> {
  const chunk = hooks.chunkBytes ?? 8 * 1024 * 1024;
  let cut: { header: RedoFileHeader; bytes: Buffer } | null = null;
  let rel = '';
  let have = 0;
  for (;;) {
    const bodyFrom = Math.max(have, FILE_HEADER_SIZE);
    const read = await readLive(primary, live, bodyFrom, chunk);
    const header = decodeFileHeader(read.headerBytes);
    if (!cut) {
      cut = { header, bytes: Buffer.from(read.headerBytes) };
      if (logs.find((l) => l.seq === header.seq)?.closed) return 'rolled over';
      rel = `redolog/seq-${header.seq}.log`;
      have = await startFrom(dir, rel, header.fileSize);
      if (have >= header.fileSize) break;
      if (Math.max(have, FILE_HEADER_SIZE) !== bodyFrom) continue;
    } else if (header.seq !== cut.header.seq) return 'rolled over';
    const end = cut.header.fileSize;
    const body = read.body.subarray(0, Math.max(0, end - bodyFrom));
    const data = have < FILE_HEADER_SIZE ? Buffer.concat([cut.bytes.subarray(have), body]) : body;
    if (data.length === 0)
      throw new Error(`${primary.name}: ${live} is shorter than its header says (${end})`);
    await appendVerified(dir, rel, have, data);
    have += data.length;
    sent.bytes += data.length;
    await hooks.onProgress?.(sent);
    if (have >= end) break;
  }
  await writeHeader(dir, rel, cut.bytes);
  return cut.header;
}
