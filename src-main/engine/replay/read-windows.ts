import fs from 'node:fs/promises';
import { trailingOf, type RedoOp } from '../redolog';

/**
 * The redo reader's read windows, reused once nothing replay was handed still views them, and
 * the ops' bodies let go of as soon as they are written.
 *
 * The reader reads each MiB of log into a window, and an op's body is a view of it (no copy). A
 * new window a MiB is new memory each time: the kernel faults each of its pages in when the read
 * fills it. On this machine (a VM) that cost 12-15 us a page, in libuv's pool: for the bench's
 * 135 MiB of logs 32,000 faults and 0.45-0.5 s of system CPU in every fresh process's replay,
 * against 47 ms for the same reads into one reused buffer. The windows could not be reused: a
 * run keeps its ops, bodies and all, until it commits (it may be applied again carefully), and
 * the bench's eight transactions each last the whole replay, so every window stayed alive to
 * the end. Now a quick run lets go of each op's body once its blob file is written (the body was
 * checked and copied for the write); a run applied again carefully reads its bodies back from
 * the log first (reload). A window goes back to the pool once the reader moved past it and every
 * body in it was let go of; one whose bodies are kept (careful runs, ops left uncommitted) is
 * simply not reused.
 *
 * Nothing is reused early: a window counts a view for each op handed over with a body in it
 * (track), and is retired only at batchDone, when the reader has moved on to another window and
 * every event read from this one has been handed over and tracked.
 *
 * The windows are shared memory (SharedArrayBuffer): the blob thread writes a body from its
 * window as it is, without the main thread copying it into a batch of its own (blob-thread.ts).
 * That too is safe only because a window is not read into again before every write from it has
 * settled.
 *
 * Measured with bench/restore.ts --fresh-process --alternate-windows (a fresh process each
 * round, reused shared windows and the old way alternating; load 4-6): libuv's pool 21,500
 * faults and 0.34-0.41 s of system CPU against 30,800-33,300 and 0.45-0.65 s; the main thread
 * 0.84-1.09 s of CPU and 9,000-10,100 faults against 1.20-1.51 s and 15,300-17,300, and no
 * mark-compact (2-4 before: the windows were external memory); node 2.29-2.85 s in all against
 * 2.86-3.50 s. About 60 of 145 windows are reused in the bench: a player applies its ops 500 at
 * a time (player-queue.ts), so the bodies of up to 600 ops a player are held before their writes.
 */
export const WINDOW_BYTES = 1024 * 1024;
/** Free windows kept at most (the rest are left to the garbage collector). */
const FREE_WINDOWS = 64;

/** Windows allocated and reused by every replay of this process (for bench/restore.ts). */
export const windowCounts = { allocated: 0, reused: 0 };

interface WindowState {
  readonly buffer: SharedArrayBuffer;
  /** Bodies handed over in it and not let go of yet. */
  views: number;
  /** The reader moved on from it and every event read from it was tracked. */
  retired: boolean;
}

/** A log's file, kept open for reading bodies back (a live log may be renamed by a rollover meanwhile). */
export interface LogSource {
  path: string;
  handle: Promise<fs.FileHandle> | null;
}

interface Tracked {
  window: WindowState | null;
  source: LogSource;
  state: 'held' | 'released' | 'reloaded';
}

export class ReadWindows {
  private readonly windows = new Map<ArrayBufferLike, WindowState>();
  private readonly free: SharedArrayBuffer[] = [];
  /** Windows not retired yet; the last one allocated is the reader's. */
  private open: WindowState[] = [];
  private lastAllocated: WindowState | null = null;
  private readonly ops = new WeakMap<RedoOp, Tracked>();
  private readonly sources: LogSource[] = [];
  /** Windows reused and allocated (for tests and the bench). */
  reused = 0;
  allocated = 0;

  /** The reader's `window` option. */
  readonly allocate = (length: number): Buffer => {
    if (length > WINDOW_BYTES) {
      this.lastAllocated = null;
      return Buffer.allocUnsafe(length);
    }
    const reused = this.free.pop();
    if (reused) {
      this.reused++;
      windowCounts.reused++;
    } else {
      this.allocated++;
      windowCounts.allocated++;
    }
    // Shared memory: the blob thread writes a body from its window without a copy (blob-thread.ts).
    const buffer = reused ?? new SharedArrayBuffer(WINDOW_BYTES);
    const state: WindowState = { buffer, views: 0, retired: false };
    this.windows.set(buffer, state);
    this.open.push(state);
    this.lastAllocated = state;
    return Buffer.from(buffer, 0, length);
  };

  /**
   * A log about to be read: bodies read from it can be read back from it. The live log is opened
   * now, before a rollover may rename it; an archived one only if a body is read back (a replay
   * may read hundreds of logs: a descriptor each for the whole replay could run out).
   */
  source(path: string, live = false): LogSource {
    const source: LogSource = { path, handle: null };
    if (live) {
      source.handle = fs.open(path, 'r');
      source.handle.catch(() => undefined);
    }
    this.sources.push(source);
    return source;
  }

  /**
   * Every event of the batch the reader handed over last is tracked: the windows it moved past
   * are retired, and reused once no body in them is held.
   */
  batchDone(): void {
    const keep = this.lastAllocated;
    for (const w of this.open) {
      if (w === keep) continue;
      w.retired = true;
      if (w.views === 0) this.recycle(w);
    }
    this.open = keep && !keep.retired ? [keep] : [];
  }

  /** An op handed over by the reader: its body (if it is a view of a window) holds that window. */
  track(op: RedoOp, source: LogSource): void {
    const body = trailingOf(op)?.data ?? (op.op === 'Unknown' ? op.raw : undefined);
    if (!body || body.length === 0) return;
    const window = this.windows.get(body.buffer) ?? null;
    if (window) window.views++;
    this.ops.set(op, { window, source, state: 'held' });
  }

  /** The op's body is no longer needed (written, dropped, or the op left out): its window may be reused. */
  release(op: RedoOp): void {
    const t = this.ops.get(op);
    if (!t || t.state !== 'held') return;
    t.state = 'released';
    const trailing = trailingOf(op);
    if (trailing) trailing.data = undefined;
    else if (op.op === 'Unknown') op.raw = Buffer.alloc(0);
    const w = t.window;
    t.window = null;
    if (!w) return;
    w.views--;
    if (w.retired && w.views === 0) this.recycle(w);
  }

  /** Bodies let go of, read back from their logs (a run applied again carefully needs them). */
  async reload(ops: readonly RedoOp[]): Promise<void> {
    for (const op of ops) {
      const t = this.ops.get(op);
      const trailing = trailingOf(op);
      if (!t || t.state !== 'released' || !trailing || trailing.offset === undefined) continue;
      t.state = 'reloaded';
      t.source.handle ??= fs.open(t.source.path, 'r');
      const data = Buffer.allocUnsafe(trailing.length);
      const bytesRead = await t.source.handle
        .then((handle) => handle.read(data, 0, trailing.length, trailing.offset))
        .then((r) => r.bytesRead)
        .catch(() => -1);
      // A log that cannot be read back leaves the body missing: the op then fails (and is
      // reported) as one whose body was not logged.
      if (bytesRead === trailing.length) trailing.data = data;
    }
  }

  /** Closes the logs' handles. */
  async close(): Promise<void> {
    await Promise.all(
      this.sources.map(async (s) => {
        const handle = await s.handle?.catch(() => null);
        await handle?.close().catch(() => undefined);
      }),
    );
  }

  private recycle(w: WindowState): void {
    this.windows.delete(w.buffer);
    if (this.free.length < FREE_WINDOWS) this.free.push(w.buffer);
  }
}
