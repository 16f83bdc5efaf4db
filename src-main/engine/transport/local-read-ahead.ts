import fs from 'node:fs';
import { claimSlab, slabSpace } from './slab';

/**
 * Whole small files for the consumer: those a listing just described read synchronously in
 * event-loop slices (see SLICE_MS), the others several at once with callback fs calls.
 *
 * Written by hand rather than with fs.promises.readFile: a message store is tens of thousands
 * of ~20 KiB blobs, where one file at a time spends its time waiting on the thread pool (open,
 * fstat, read, close: four round trips each). Measured on bench/full-backup.ts (100 accounts ×
 * 500 messages, local): the sequential FileHandle path left the process idle 60% of the run.
 */
export const SMALL_FILE_BYTES = 1024 * 1024;

export type Prefetched =
  /** Gone since it was listed, or not a regular file: readFiles skips it. */
  | { kind: 'skip' }
  /** Read whole: exactly `size` bytes, as they were when opened. */
  | { kind: 'small'; data: Buffer; mtimeMs: number }
  /** Too big to hold in memory: the caller streams it when its turn comes. */
  | { kind: 'large' };

const isMissing = (error: NodeJS.ErrnoException) => error.code === 'ENOENT' || error.code === 'ENOTDIR';

export class ShrankError extends Error {
  constructor(
    readonly got: number,
    readonly expected: number,
  ) {
    super(`shrank while being read (${got} of ${expected} bytes)`);
  }
}

/** Opens, sizes and (if small) reads one file; errors carry the failed step in `step`. */
export function prefetchFile(full: string): Promise<Prefetched> {
  return new Promise((resolve, reject) => {
    const fail = (step: string, error: Error) => reject(Object.assign(error, { step }));
    fs.open(full, 'r', (openError, fd) => {
      if (openError) return isMissing(openError) ? resolve({ kind: 'skip' }) : fail('open', openError);
      const finish = (outcome: Prefetched | null, error?: Error, step = 'read') =>
        fs.close(fd, () => (error ? fail(step, error) : resolve(outcome!)));
      fs.fstat(fd, (statError, stats) => {
        if (statError) return finish(null, statError, 'stat');
        if (!stats.isFile()) return finish({ kind: 'skip' });
        if (stats.size > SMALL_FILE_BYTES) return finish({ kind: 'large' });
        const data = Buffer.allocUnsafe(stats.size);
        const readFrom = (position: number): void => {
          if (position === stats.size) return finish({ kind: 'small', data, mtimeMs: stats.mtimeMs });
          fs.read(fd, data, position, stats.size - position, position, (readError, bytesRead) => {
            if (readError) return finish(null, readError);
            if (bytesRead === 0) return finish(null, new ShrankError(position, stats.size));
            readFrom(position + bytesRead);
          });
        };
        readFrom(0);
      });
    });
  });
}

/**
 * Listed small files are read with synchronous calls, in slices of the event loop. Measured on
 * the 50,000 blobs (1.1 GiB, page cache warm) of bench/full-backup.ts's 100 × 500 store:
 * open + read + close with callbacks at 16 in flight cost 2.8–3.3 s of CPU (each call a trip
 * through the thread pool: a futex wake-up, a context switch, an async handle, a callback into
 * JS), the same calls synchronous 1.0 s, at a third of the wall time. On a cold store that is
 * one read at a time, as tar does; each slice yields to the event loop after SLICE_MS, so an
 * overlapping SQL dump or LDAP reply waits at most that long plus one read.
 */
const SLICE_MS = 4;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * With the size and mtime a listing just gave: open, one read of size + 1 bytes, close, no fstat
 * (a quarter of the calls per file). Exactly the listed size back means the file is as listed;
 * anything else (it grew, shrank, is not a regular file) returns null, and the caller takes the
 * careful way, prefetchFile.
 */
export function readListedSync(full: string, listed: { size: number; mtimeMs: number }): Prefetched | null {
  let fd: number;
  try {
    fd = fs.openSync(full, 'r');
  } catch (error) {
    if (isMissing(error as NodeJS.ErrnoException)) return { kind: 'skip' };
    throw Object.assign(error as Error, { step: 'open' });
  }
  const space = slabSpace(listed.size + 1);
  let bytesRead = -1;
  try {
    bytesRead = fs.readSync(fd, space, 0, space.length, 0);
  } catch {
    // EISDIR and the like: the careful path decides
  } finally {
    fs.closeSync(fd);
  }
  if (bytesRead !== listed.size) return null;
  claimSlab(bytesRead);
  return { kind: 'small', data: space.subarray(0, bytesRead), mtimeMs: listed.mtimeMs };
}

/**
 * Hands back the files in the order asked. With a listing, small files are read synchronously
 * in event-loop slices (see SLICE_MS); the rest, and every file without a listing, are
 * prefetched up to `window` ahead with callbacks. Stopping early leaves at most `window` reads in
 * flight, which settle on their own (their buffers are dropped).
 */
export async function* readAhead(
  fullPaths: readonly string[],
  window: number,
  listed?: ReadonlyArray<{ size: number; mtimeMs: number }>,
): AsyncGenerator<{ index: number; file: Prefetched }> {
  if (listed) {
    let sliceStart = performance.now();
    for (let index = 0; index < fullPaths.length; index++) {
      const full = fullPaths[index]!;
      const hint = listed[index];
      const quick = hint && hint.size <= SMALL_FILE_BYTES ? readListedSync(full, hint) : null;
      const file = quick ?? (await prefetchFile(full));
      yield { index, file };
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    return;
  }
  const pending: Array<Promise<Prefetched>> = [];
  let next = 0;
  const fill = () => {
    while (next < fullPaths.length && pending.length < window) {
      const full = fullPaths[next++]!;
      const promise = prefetchFile(full);
      promise.catch(() => undefined); // awaited in order below; a later failure must not be "unhandled"
      pending.push(promise);
    }
  };
  fill();
  for (let index = 0; index < fullPaths.length; index++) {
    const file = await pending.shift()!;
    fill();
    yield { index, file };
  }
}
