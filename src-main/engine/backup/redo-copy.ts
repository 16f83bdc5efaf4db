import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServerAccess } from '../server/server-access';
import { fsyncDir, fsyncFile } from '../target/durable-fs';
import { HashingFileStream } from '../target/hashing-file-stream';
import { targetPaths } from '../target/layout';
import type { FileRecord, RedoLogRecord } from '../target/manifest';
import { isFatal } from './full-backup';
import { archiveDirOf, type ServerLog } from './redo-archive';
import { checkRedoFile, RedoLogChecker, type RedoLogScan } from './redo-scan';

/**
 * New archived logs into `<target>/redologs/<name>` (SPEC §1 incremental, step 3). Each goes to
 * a temp file and is checked from the bytes of the copy (SHA-256 and a scan of its records, in
 * one pass), then fsynced, and only then renamed to its name: a killed run leaves temps (the
 * next run removes them) or whole, checked logs no committed session lists yet (the next run
 * replaces them), never a torn log under its name.
 */
export interface CopiedLog {
  record: RedoLogRecord;
  problems: string[];
}

export interface CopyLogsResult {
  copied: CopiedLog[];
  /** Why copying stopped before the last log (the logs from there wait for the next run). */
  stopped: Error | null;
}

/**
 * Copies `logs` in order. Local copies run one log ahead (the kernel copies the next log while
 * this one is hashed and scanned), and the fsync and rename of one log overlap the copy of the
 * next; `checkpoint` runs after each log is in place. Stops at the first log that cannot be
 * copied: the next run starts from it again, where copying past it would leave it behind the
 * target's last sequence for good. Fatal errors (the disk is full, the connection is gone) are
 * thrown.
 */
export async function copyLogsToTarget(
  server: ServerAccess,
  target: string,
  logs: ServerLog[],
  checkpoint: (step: string) => Promise<void>,
): Promise<CopyLogsResult> {
  const dir = targetPaths(target).redologs;
  // Owner only: redo logs hold message bodies.
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const ahead = server.transport.copyToLocal ? 1 : 0;
  const staging: Array<Promise<Settled<StagedLog>>> = [];
  const stage = (i: number) => (staging[i] ??= settle(stageLog(server, dir, logs[i]!)));
  const copied: CopiedLog[] = [];
  let placing: { log: CopiedLog; done: Promise<Settled<void>> } | null = null;
  /** Counts the log being placed once its rename is done; gives its failure instead if it failed. */
  const placed = async (): Promise<Error | null> => {
    if (!placing) return null;
    const { log, done } = placing;
    placing = null;
    const result = await done;
    if (!result.ok) return result.error;
    copied.push(log);
    await checkpoint(`log ${log.record.seq}`);
    return null;
  };
  let failure: Error | null = null;
  let index = 0;
  try {
    for (; index < logs.length; index++) {
      for (let i = index; i <= Math.min(index + ahead, logs.length - 1); i++) stage(i);
      const staged = await staging[index]!;
      failure = await placed();
      if (!staged.ok) failure ??= staged.error;
      if (failure || !staged.ok) break;
      placing = { log: staged.value.copied, done: settle(placeLog(staged.value)) };
    }
    failure ??= await placed();
  } finally {
    await placing?.done;
    // Logs staged but not placed (after a stop): their temps go now, not at the next run.
    for (const pending of staging.slice(index)) {
      const result = await pending;
      if (result.ok) await fs.promises.rm(result.value.temp, { force: true });
    }
  }
  if (failure && isFatal(failure)) throw failure;
  // The renames are durable before a session lists them.
  await fsyncDir(dir);
  return { copied, stopped: failure };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Never rejects: a promise awaited later must not fail unobserved (that ends the process). */
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as Error }),
  );

interface StagedLog {
  temp: string;
  final: string;
  copied: CopiedLog;
}

/** One log copied to a temp file beside its final name and checked from the copy's bytes. */
async function stageLog(server: ServerAccess, dir: string, log: ServerLog): Promise<StagedLog> {
  const final = path.join(dir, log.name);
  const temp = path.join(dir, `.${log.name}.${process.pid}.tmp`);
  await fs.promises.rm(temp, { force: true });
  try {
    const { record, scan } = server.transport.copyToLocal
      ? await copyInKernel(server, log, temp)
      : await copyStreamed(server, log, temp);
    return {
      temp,
      final,
      copied: {
        record: {
          name: log.name,
          seq: log.seq,
          ...record,
          firstOpMs: scan.firstOpMs,
          lastOpMs: scan.lastOpMs,
        },
        problems: scan.problems.map((p) => `${log.name} ${p}`),
      },
    };
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

/** The server's files are this machine's: the kernel copies, then one read hashes and scans the copy. */
async function copyInKernel(
  server: ServerAccess,
  log: ServerLog,
  temp: string,
): Promise<{ record: FileRecord; scan: RedoLogScan }> {
  const source = path.posix.join(archiveDirOf(server), log.name);
  if (!(await server.transport.copyToLocal!(source, temp))) throw goneError(server, log);
  return checkRedoFile(temp, log.seq);
}

/** Over the transport's stream: hashed as written, scanned from the same chunks on their way. */
async function copyStreamed(
  server: ServerAccess,
  log: ServerLog,
  temp: string,
): Promise<{ record: FileRecord; scan: RedoLogScan }> {
  for await (const entry of server.transport.readFiles(archiveDirOf(server), [log.name])) {
    const checker = new RedoLogChecker();
    const scanned = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        checker.push(chunk);
        callback(null, chunk);
      },
    });
    const out = new HashingFileStream(temp);
    await pipeline(entry.content as NodeJS.ReadableStream, scanned, out);
    const record = await out.record;
    return { record, scan: checker.finish(log.seq, record.bytes) };
  }
  throw goneError(server, log);
}

const goneError = (server: ServerAccess, log: ServerLog) =>
  new Error(
    `${server.settings.hostname}: ${log.name} went from ${archiveDirOf(server)} while it was being copied`,
  );

/** Durable content first, then the name: a crash never leaves a torn log under its name. */
async function placeLog(staged: StagedLog): Promise<void> {
  await fsyncFile(staged.temp);
  await fs.promises.rename(staged.temp, staged.final);
}
