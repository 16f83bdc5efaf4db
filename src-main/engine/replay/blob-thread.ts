import { Worker } from 'node:worker_threads';
import { pendingWrite, type PendingWrite, type QueuedWrite } from './blob-writes';

/**
 * Replay's local blob files written by a thread of its own with the synchronous fs calls, the
 * files a run hands over in one event-loop turn sent as one message.
 *
 * With the callback fs calls (three per file: open, write, close, each a trip through libuv's
 * pool) the main thread spent most of a second in those calls, however short each should be:
 * bench/restore.ts, profile of a round at load 3-4: 360 ms in `open`, 160 ms in `close` and
 * about 100 ms in `write` for about 4,000 files, against about 800 ms for reading, parsing and
 * the SQL. A 2,000-file test at the same time: 1.9-2.5 s of system CPU through the pool (four
 * threads in a few folders), 1.2-1.6 s from one thread with the sync calls. Creating a file
 * costs this machine's ext4 0.1-0.2 ms of kernel CPU, and each call woke a pool thread that then
 * competed with the main thread for the two cores. Here the main thread posts a message per
 * turn; the thread does the calls one after another. A body is a view of the redo reader's
 * window: replay's windows are shared memory (read-windows.ts), sent as they are and written
 * from; any other body is copied once into the batch's buffer (posting a view of an ordinary
 * buffer would copy the whole of it). Not copying the bodies spares the main thread the copy and
 * the page faults of the batches' buffers, new to a fresh process: bench/restore.ts
 * --fresh-process, 9,000-10,000 faults on the main thread against 15,000-17,000 with the copies.
 *
 * The batch's buffer comes back with the thread's answer and carries a later batch: a fresh
 * buffer of a few MiB per batch cost its page faults and zeroing each time (the bench's 89 MiB of
 * bodies: 220-290 ms of the main thread in a process's first replay, 40-90 ms in later ones;
 * 8-30 ms with the buffers reused), and its external memory drove V8's garbage collections.
 *
 * The thread's script is a string run with `eval`: a few lines of plain fs calls, the same in
 * every build (sources under tsx, the CLI bundle, Electron's main build), with no script of its
 * own to bundle beside this module.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
// Folders made already: a mailbox's blobs share one, and mkdir -p costs system calls each time.
const made = new Set();
function writeOne(file, bytes) {
  const dir = path.dirname(file);
  if (!made.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  try {
    fs.writeFileSync(file, bytes);
  } catch (error) {
    // Removed since it was made (a restore replaces mailbox folders): made again.
    if (error.code !== 'ENOENT') throw error;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, bytes);
  }
}
parentPort.on('message', ({ seq, files, buffer, shared }) => {
  const data = buffer ? new Uint8Array(buffer) : null;
  const failed = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    // A view of a shared read window (replay/read-windows.ts), or the batch's own bytes.
    const bytes = f.shared !== undefined ? new Uint8Array(shared[f.shared], f.start, f.end - f.start) : data.subarray(f.start, f.end);
    // Zimbra's blob digest (server/blob-digest.ts), checked here rather than on the main thread.
    if (f.digest !== undefined && crypto.createHash('sha256').update(bytes).digest('base64').replaceAll('/', ',') !== f.digest) {
      failed.push({ index: i, message: 'the logged body does not match digest ' + f.digest, code: 'EDIGEST' });
      continue;
    }
    try {
      writeOne(f.path, bytes);
    } catch (error) {
      failed.push({ index: i, message: String((error && error.message) || error), code: error && error.code });
    }
  }
  // The buffer goes back, for the next batch.
  parentPort.postMessage({ seq, failed, buffer }, buffer ? [buffer] : []);
});
`;

interface Reply {
  seq: number;
  failed: Array<{ index: number; message: string; code?: string }>;
  buffer?: ArrayBuffer;
}

/** Buffers kept for later batches: at most this many bytes in all, dropped after IDLE_MS without a batch. */
const SPARE_BYTES = 64 * 1024 * 1024;
const IDLE_MS = 10_000;
/** A new buffer's size: a power of two, at least 1 MiB, so that it fits the batches that follow. */
const bufferSize = (bytes: number) => Math.max(1 << 20, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));

const EMPTY = Buffer.alloc(0);

/**
 * The blob thread; unusable once it failed (the caller then writes through ServerFiles). A body
 * in shared memory (a SharedArrayBuffer) is not copied: it must not change until its write
 * settles.
 */
export class BlobThread {
  private readonly worker: Worker;
  private readonly posted = new Map<number, PendingWrite[]>();
  private queued: PendingWrite[] = [];
  private scheduled = false;
  private nextSeq = 1;
  private broken: Error | null = null;
  /** Buffers the thread gave back, smallest first. */
  private spare: ArrayBuffer[] = [];
  private idleTimer: NodeJS.Timeout | null = null;

  constructor() {
    this.worker = new Worker(THREAD_SOURCE, { eval: true });
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    const fail = (error: Error) => {
      this.broken ??= error;
      for (const batch of this.posted.values()) for (const q of batch) q.reject(error);
      this.posted.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the blob thread stopped (exit code ${code})`)));
    // Alive only while it owes an answer (ref'd while a batch is out).
    this.worker.unref();
  }

  get usable(): boolean {
    return this.broken === null;
  }

  /** Queues a file; the files queued in this turn of the event loop go to the thread together. */
  write(file: string, data: Buffer, digest?: string): QueuedWrite {
    const { pending, handle } = pendingWrite(file, data, digest);
    if (this.broken) {
      pending.state = 'started'; // failed: no longer droppable
      pending.reject(this.broken);
      return handle;
    }
    this.queued.push(pending);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.post());
    }
    return handle;
  }

  private post(): void {
    this.scheduled = false;
    const batch = this.queued.filter((q) => q.state === 'queued');
    this.queued = [];
    if (batch.length === 0) return;
    if (this.broken) {
      for (const q of batch) q.reject(this.broken);
      return;
    }
    // A body in shared memory (the reader's windows: read-windows.ts) is written from it as it
    // is; the others are copied into one buffer for the batch, moved to the thread rather than
    // copied again.
    const isShared = (q: PendingWrite) => q.data.buffer instanceof SharedArrayBuffer;
    const copied = batch.reduce((n, q) => (isShared(q) ? n : n + q.data.length), 0);
    const bytes = copied > 0 ? new Uint8Array(this.takeBuffer(copied)) : null;
    const shared: SharedArrayBuffer[] = [];
    const sharedAt = new Map<SharedArrayBuffer, number>();
    const files: Array<{ path: string; start: number; end: number; digest?: string; shared?: number }> = [];
    let at = 0;
    for (const q of batch) {
      if (isShared(q)) {
        const sab = q.data.buffer as SharedArrayBuffer;
        let index = sharedAt.get(sab);
        if (index === undefined) {
          index = shared.length;
          shared.push(sab);
          sharedAt.set(sab, index);
        }
        const start = q.data.byteOffset;
        files.push({ path: q.file, start, end: start + q.data.length, digest: q.digest, shared: index });
      } else {
        bytes!.set(q.data, at);
        files.push({ path: q.file, start: at, end: at + q.data.length, digest: q.digest });
        at += q.data.length;
      }
      q.state = 'started';
      // The window the body was a view of is not kept for the write.
      q.data = EMPTY;
    }
    const seq = this.nextSeq++;
    this.posted.set(seq, batch);
    this.worker.ref();
    this.worker.postMessage(
      { seq, files, buffer: bytes?.buffer, shared },
      bytes ? [bytes.buffer as ArrayBuffer] : [],
    );
  }

  /** The smallest spare buffer of at least `bytes` bytes, or a new one. */
  private takeBuffer(bytes: number): ArrayBuffer {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const at = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (at >= 0) return this.spare.splice(at, 1)[0]!;
    return new ArrayBuffer(bufferSize(bytes));
  }

  private keepBuffer(buffer: ArrayBuffer): void {
    const kept = this.spare.reduce((n, b) => n + b.byteLength, 0);
    if (kept + buffer.byteLength > SPARE_BYTES) return;
    this.spare.push(buffer);
    this.spare.sort((a, b) => a.byteLength - b.byteLength);
  }

  private settle(reply: Reply): void {
    const batch = this.posted.get(reply.seq);
    this.posted.delete(reply.seq);
    if (reply.buffer) this.keepBuffer(reply.buffer);
    if (this.posted.size === 0) {
      this.worker.unref();
      // Idle: the spare buffers are not kept for long.
      this.idleTimer ??= setTimeout(() => {
        this.idleTimer = null;
        this.spare = [];
      }, IDLE_MS).unref();
    }
    if (!batch) return;
    const failed = new Map(reply.failed.map((f) => [f.index, f]));
    batch.forEach((q, i) => {
      const f = failed.get(i);
      if (!f) return q.resolve();
      const error = new Error(`${q.file}: ${f.message}`) as NodeJS.ErrnoException;
      if (f.code) error.code = f.code;
      q.reject(error);
    });
  }
}

let shared: BlobThread | null = null;

/** The process's blob thread, started on first use (again if the last one failed); null if none can start. */
export function blobThread(): BlobThread | null {
  if (shared?.usable) return shared;
  try {
    shared = new BlobThread();
  } catch {
    shared = null;
  }
  return shared;
}
