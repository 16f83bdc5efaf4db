import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The few file-system moves the commit protocol relies on: fsync of files and directories, and
 * replacing a file atomically (temp file → fsync → rename → fsync of the directory), so that a
 * crash leaves either the old or the new content, never a torn one.
 */

export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a directory's entries (creations, renames) durable. No-op where directories can't be opened. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(dir, 'r');
  } catch (error) {
    if (['EISDIR', 'EPERM', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (and Windows) refuse fsync on a directory; nothing more can be done there.
    if (!['EINVAL', 'EPERM', 'EBADF', 'ENOTSUP'].includes((error as NodeJS.ErrnoException).code ?? ''))
      throw error;
  } finally {
    await handle.close();
  }
}

/** Tells this host's temp files from those of other hosts sharing a target (NFS, SMB). */
const HOST_TAG = crypto.createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/**
 * A name beside `file` for writing its next version, unique per process and call:
 * `<file>.tmp-<pid>-<host tag>-<random>`, so that a killed writer's leftover can be recognised.
 */
export function tempNameFor(file: string): string {
  return `${file}.tmp-${process.pid}-${HOST_TAG}-${crypto.randomBytes(4).toString('hex')}`;
}

/** The writer of a temp file named by tempNameFor (or before temps carried a host tag). */
export function tempFileWriter(name: string): { pid: number; thisHost: boolean } | null {
  const match = /\.tmp-(\d+)-(?:([0-9a-f]{8})-)?[0-9a-f]+$/.exec(name);
  return match ? { pid: Number(match[1]), thisHost: match[2] === HOST_TAG } : null;
}

/**
 * True for a temp file left by a process of this host that no longer runs: garbage. Another
 * host's temp cannot be judged by its pid; its callers decide by age, if at all.
 */
export function isDeadTempOfThisHost(name: string): boolean {
  const writer = tempFileWriter(name);
  return writer !== null && writer.thisHost && writer.pid !== process.pid && !pidExists(writer.pid);
}

export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes, in `dir`, the temp files that processes of this host were killed writing. */
export async function sweepDeadTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (isDeadTempOfThisHost(name)) await fs.promises.rm(path.join(dir, name), { force: true });
}

export interface AtomicWriteOptions {
  /** fsync the data and the directory (for what a crash must not lose); default true. */
  durable?: boolean;
}

/** Replaces `file` with `data` atomically: readers see the old or the new content, whole. */
export async function writeFileAtomic(
  file: string,
  data: string | Buffer,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const temp = tempNameFor(file);
  try {
    const handle = await fs.promises.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  if (durable) await fsyncDir(path.dirname(file));
}

/** Runs `work` over items with at most `limit` in flight; rejects with the first failure. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}
