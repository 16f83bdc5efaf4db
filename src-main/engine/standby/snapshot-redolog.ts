import path from 'node:path';
import { archiveDirOf, listServerLogs } from '../backup/redo-archive';
import { decodeFileHeader, FILE_HEADER_SIZE, type RedoFileHeader } from '../redolog';
import type { ServerAccess } from '../server/server-access';
import type { HeldRedoLog, SnapshotEntry, VolumeRecord } from './record';
import type { StandbyDir } from './standby-dir';
import { readPiece, standbySize, writePiece, type Sent, type TransferHooks } from './transfer';

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
  const chunk = hooks.chunkBytes ?? 8 * 1024 * 1024;
  try {
    const archiveDir = archiveDirOf(primary);
    // A rollover while redo.log is copied sends the attempt round again: the log is archived now.
    for (let round = 1; ; round++) {
      const archived = new Map((await t.walk(archiveDir)).map((f) => [f.path, f.size]));
      for (const log of await listServerLogs(primary)) {
        const size = archived.get(log.name);
        if (logs.find((l) => l.seq === log.seq)?.closed || size === undefined) continue;
        const rel = `redolog/seq-${log.seq}.log`;
        let have = await startFrom(dir, rel, size);
        let whole: string | null = null;
        let theirs: string | null = null;
        let lastOpTime = 0;
        do {
          const from = Math.max(have, FILE_HEADER_SIZE);
          const last = size - from <= chunk;
          const piece = await readPiece(
            t,
            path.posix.join(archiveDir, log.name),
            from,
            Math.min(chunk, size - from),
            {
              header: true,
              sha: last,
            },
          );
          whole = await writePiece(dir, rel, have, piece.header, piece.body, last);
          lastOpTime = decodeFileHeader(piece.header!).lastOpTime;
          theirs = piece.sha256;
          have = from + piece.body.length;
          sent.bytes += piece.body.length + FILE_HEADER_SIZE;
          await hooks.onProgress?.(sent);
        } while (have < size);
        if (whole !== theirs) {
          await dir.run(['truncate', '-s', '0', '--', dir.abs(rel)]);
          throw new Error(
            `${log.name}: the standby's copy does not match the primary's (SHA-256); it will be sent again`,
          );
        }
        put({ seq: log.seq, archiveName: log.name, size, closed: true, lastOpTime });
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
  let cut: RedoFileHeader | null = null;
  let cutBytes = Buffer.alloc(0);
  let rel = '';
  let have = 0;
  for (;;) {
    const bodyFrom = Math.max(have, FILE_HEADER_SIZE);
    const read = await readPiece(primary.transport, live, bodyFrom, chunk, { header: true, sha: false });
    const header = decodeFileHeader(read.header!);
    if (!cut) {
      cut = header;
      cutBytes = Buffer.from(read.header!);
      if (logs.find((l) => l.seq === header.seq)?.closed) return 'rolled over';
      rel = `redolog/seq-${header.seq}.log`;
      have = await startFrom(dir, rel, header.fileSize);
      if (Math.max(have, FILE_HEADER_SIZE) !== bodyFrom) continue;
    } else if (header.seq !== cut.seq) return 'rolled over';
    // Only what the first header counted: records after it may still be being written.
    const body = read.body.subarray(0, Math.max(0, cut.fileSize - bodyFrom));
    // The header written is the cut's, so the copy says exactly what it holds.
    await writePiece(dir, rel, have, cutBytes, body, false);
    have = bodyFrom + body.length;
    sent.bytes += body.length + FILE_HEADER_SIZE;
    await hooks.onProgress?.(sent);
    if (have >= cut.fileSize) return cut;
  }
}
