import fs from 'node:fs';
import path from 'node:path';
import { archiveDirOf, listServerLogs } from '../backup/redo-archive';
import { decodeFileHeader, FILE_HEADER_SIZE, parseArchiveFileName } from '../redolog';
import type { ServerAccess } from '../server/server-access';
import { targetPaths } from '../target/layout';
import { serverFiles } from './server-files';

/**
 * The redo logs a replay reads, in sequence order: the archived logs incrementals brought into
 * the target, then (unless only backed-up logs are wanted, -br) the server's own archive and its
 * live redo.log, as Zimbra's restore does. A sequence held in both places is read from the
 * target. Logs on a remote server are copied into a local work directory first.
 */
export interface RedoLogFile {
  name: string;
  seq: number;
  /** A local path the reader can open. */
  path: string;
  from: 'target' | 'server' | 'given';
}

async function readSeq(file: string): Promise<number | null> {
  try {
    const handle = await fs.promises.open(file, 'r');
    try {
      const head = Buffer.alloc(FILE_HEADER_SIZE);
      const { bytesRead } = await handle.read(head, 0, FILE_HEADER_SIZE, 0);
      return bytesRead === FILE_HEADER_SIZE ? decodeFileHeader(head).seq : null;
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}

export async function targetRedoLogs(target: string): Promise<RedoLogFile[]> {
  const dir = targetPaths(target).redologs;
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const parsed = parseArchiveFileName(name);
    return parsed ? [{ name, seq: parsed.seq, path: path.join(dir, name), from: 'target' as const }] : [];
  });
}

/** The server's archived logs and redo.log; copied under workDir when the server is remote. */
export async function serverRedoLogs(server: ServerAccess, workDir: string): Promise<RedoLogFile[]> {
  const archive = archiveDirOf(server);
  const live = path.posix.join(server.zimbraHome, 'redolog/redo.log');
  const wanted = (await listServerLogs(server)).map((l) => ({
    name: l.name,
    seq: l.seq,
    remote: path.posix.join(archive, l.name),
  }));
  const local = serverFiles(server.transport).local;
  const out: RedoLogFile[] = [];
  const place = async (remote: string, name: string): Promise<string | null> => {
    if (local) return fs.existsSync(remote) ? remote : null;
    await fs.promises.mkdir(workDir, { recursive: true });
    const copy = path.join(workDir, name);
    for await (const entry of server.transport.readFiles(path.posix.dirname(remote), [
      path.posix.basename(remote),
    ]))
      await fs.promises.writeFile(copy, await streamToBuffer(entry.content));
    return fs.existsSync(copy) ? copy : null;
  };
  for (const log of wanted) {
    const at = await place(log.remote, log.name);
    if (at) out.push({ name: log.name, seq: log.seq, path: at, from: 'server' });
  }
  const liveCopy = await place(live, 'redo.log');
  if (liveCopy) {
    const seq = await readSeq(liveCopy);
    if (seq !== null) out.push({ name: 'redo.log', seq, path: liveCopy, from: 'server' });
  }
  return out;
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Files named on the command line (zmplayredo --logfiles), in the order given. */
export async function givenRedoLogs(files: string[]): Promise<RedoLogFile[]> {
  const out: RedoLogFile[] = [];
  for (const file of files) {
    const seq = await readSeq(file);
    if (seq === null) throw new Error(`${file}: not a redo log (no ZM_REDO header)`);
    out.push({ name: path.basename(file), seq, path: file, from: 'given' });
  }
  return out;
}

export interface LogSelection {
  logs: RedoLogFile[];
  /** Sequence numbers missing between the first and last log selected. */
  gaps: Array<{ from: number; to: number }>;
}

/** One file per sequence (the target's copy first), within [fromSeq, toSeq], in order; gaps named. */
export function selectLogs(
  candidates: RedoLogFile[],
  range: { fromSeq?: number; toSeq?: number } = {},
): LogSelection {
  const bySeq = new Map<number, RedoLogFile>();
  for (const log of candidates) {
    if (range.fromSeq !== undefined && log.seq < range.fromSeq) continue;
    if (range.toSeq !== undefined && log.seq > range.toSeq) continue;
    const held = bySeq.get(log.seq);
    if (!held || (held.from !== 'target' && log.from === 'target')) bySeq.set(log.seq, log);
  }
  const logs = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const gaps: LogSelection['gaps'] = [];
  for (let i = 1; i < logs.length; i++)
    if (logs[i]!.seq !== logs[i - 1]!.seq + 1)
      gaps.push({ from: logs[i - 1]!.seq + 1, to: logs[i]!.seq - 1 });
  if (range.fromSeq !== undefined && logs[0] && logs[0].seq > range.fromSeq)
    gaps.unshift({ from: range.fromSeq, to: logs[0].seq - 1 });
  return { logs, gaps };
}
