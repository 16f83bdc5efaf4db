import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fsError } from '../transport/fs-errors';
import type { ArchiveEntryOptions, ArchiveResult } from './archive';
import type {
  BufferedEntry,
  FinishedArchive,
  ListedFile,
  ListedResult,
  ZipThreadError,
  ZipThreadReply,
  ZipThreadRequest,
} from './zip-thread-protocol';

/**
 * Stored zips built on threads of their own (zip-thread-worker.ts), for a local full backup:
 * reading tens of thousands of blobs, their CRC-32s, the archive's SHA-256 and its writes were
 * most of the engine's main thread (bench/full-backup.ts, 100 × 500 local: ~6 of ~10 s). On a
 * thread they run beside the main thread's own work (the directory, the database, the previous
 * account's rows), on the machine's other cores.
 *
 * The thread's script sits beside this module in every build: the sources (run through tsx),
 * the command line's bundle (out/cli/) and Electron's main build (out/main/). Where it is not
 * found, `openThreadedZipWriter` returns null and the caller uses StoredZipWriter.
 */
const THREADS = 3;
const WORKER_NAME = 'zip-thread-worker';

/** A request before the thread gives it its sequence number. */
type WithoutSeq<R> = R extends unknown ? Omit<R, 'seq'> : never;
type Request = WithoutSeq<ZipThreadRequest>;

interface Pending {
  resolve: (value: ZipThreadReply & { ok: true }) => void;
  reject: (error: Error) => void;
}

/** How to start the thread: its built script, or (from the sources) the script bundled in memory. */
type ThreadScript = { file: string } | { code: string };

/** Where the thread's script is; null when this build has none. */
function workerScript(): ThreadScript | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, path.dirname(here)])
    for (const extension of ['.mjs', '.js']) {
      const file = path.join(dir, `${WORKER_NAME}${extension}`);
      if (fs.existsSync(file)) return { file };
    }
  const source = path.join(here, `${WORKER_NAME}.ts`);
  if (!fs.existsSync(source)) return null;
  // From the sources (tests, tsx): bundled here once with esbuild, a development dependency, and
  // run as a script. Booting each thread through tsx instead cost up to a second per thread on
  // a busy machine (its own esbuild and module compiles).
  try {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const built = esbuild.buildSync({
      entryPoints: [source],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    return { code: built.outputFiles[0]!.text };
  } catch {
    return null;
  }
}

class ZipThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  private broken: Error | null = null;
  open = 0;

  constructor(script: ThreadScript) {
    this.worker = 'code' in script ? new Worker(script.code, { eval: true }) : new Worker(script.file);
    this.worker.on('message', (reply: ZipThreadReply) => {
      const waiting = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.worker.unref();
      if (!waiting) return;
      if (reply.ok) waiting.resolve(reply);
      else waiting.reject(threadError(reply.error));
    });
    const fail = (error: Error) => {
      this.broken ??= error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the archive thread stopped (exit code ${code})`)));
    // The thread must not keep the process alive: it has work only while a call waits on it.
    // (After the listeners: adding a 'message' listener refs the worker's port again.)
    this.worker.unref();
  }

  get usable(): boolean {
    return this.broken === null;
  }

  call(request: Request, transfer?: ArrayBuffer[]): Promise<ZipThreadReply & { ok: true }> {
    if (this.broken) return Promise.reject(this.broken);
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      // Keep the process alive while the thread owes an answer.
      this.worker.ref();
      this.worker.postMessage({ ...request, seq }, transfer ?? []);
    });
  }
}

/** Rebuilds the thread's error: a read failure names the file as the transport would. */
function threadError(error: ZipThreadError): Error {
  const rebuilt = new Error(error.message) as Error & { code?: string; file?: string; step?: string };
  if (error.kind && error.kind !== 'Error') rebuilt.name = error.kind;
  if (error.code !== undefined) rebuilt.code = error.code;
  if (error.file !== undefined) rebuilt.file = error.file;
  if (error.step !== undefined) rebuilt.step = error.step;
  return rebuilt;
}

const threads: ZipThread[] = [];
let script: ReturnType<typeof workerScript> | undefined;
let nextArchive = 1;

function pickThread(): ZipThread | null {
  script ??= workerScript();
  if (!script) return null;
  for (let i = threads.length - 1; i >= 0; i--) if (!threads[i]!.usable) threads.splice(i, 1);
  const idle = threads.find((t) => t.open === 0);
  if (idle) return idle;
  // A new thread only when every one has an archive open (most runs need two or three).
  if (threads.length < THREADS) {
    const thread = new ZipThread(script);
    threads.push(thread);
    return thread;
  }
  return threads.reduce((a, b) => (b.open < a.open ? b : a));
}

/**
 * A stored zip at `<basePath>.zip` built on an archive thread, or null when this build has no
 * thread script (the caller then writes it on the main thread).
 */
export async function openThreadedZipWriter(
  basePath: string,
  options: { forceZip64?: boolean } = {},
): Promise<ThreadedZipWriter | null> {
  const thread = pickThread();
  if (!thread) return null;
  const writer = new ThreadedZipWriter(thread, nextArchive++, `${basePath}.zip`);
  thread.open++;
  try {
    await thread.call({
      op: 'open',
      archive: writer.archive,
      path: writer.path,
      forceZip64: options.forceZip64 ?? false,
    });
  } catch (error) {
    thread.open--;
    throw error;
  }
  return writer;
}

/** Bytes of small entries gathered into one request to the thread. */
const BATCH_BYTES = 1 << 20;
/** Requests sent and not yet answered before an add waits for the oldest: bounds what is in flight. */
const MAX_IN_FLIGHT = 4;

/** Batch buffers the thread has handed back, for the next batches (see zip-thread-worker.ts). */
const spareBatches: ArrayBuffer[] = [];
const SPARE_BATCHES = 16;

function takeBatch(): Buffer {
  const spare = spareBatches.pop();
  return spare ? Buffer.from(spare) : Buffer.allocUnsafe(BATCH_BYTES);
}

function keepBatch(returned: Uint8Array | undefined): void {
  if (returned?.buffer.byteLength === BATCH_BYTES && spareBatches.length < SPARE_BATCHES)
    spareBatches.push(returned.buffer as ArrayBuffer);
}

/** `data` in a buffer of its own, exactly its size, that can be transferred to the thread. */
function ownedCopy(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return copy;
}

/**
 * A staging archive for FileSnapshot: files are added as listed (read on the thread, locally),
 * or as buffers and streams (received over SSH, and the catch-up's late files); finish gives the
 * same result an ArchiveWriter does.
 *
 * Buffers are gathered into 1 MiB batches, copied once into a buffer that is then transferred to
 * the thread (postMessage would copy a view's whole underlying buffer, a 1 MiB slab for each
 * 20 KiB blob); an add waits only when MAX_IN_FLIGHT requests are unanswered. A failure on the
 * thread is thrown by the next add, or by finish.
 */
export class ThreadedZipWriter {
  private closed = false;
  private batch: Buffer | null = null;
  private batchUsed = 0;
  private batchEntries: BufferedEntry[] = [];
  private readonly inFlight: Array<Promise<void>> = [];
  private failure: Error | null = null;

  constructor(
    private readonly thread: ZipThread,
    readonly archive: number,
    readonly path: string,
  ) {}

  /**
   * Reads the listed files under `root` on the thread and stores each as `prefix + path`. A
   * failed read is a TransportError naming `sourceName`, the file and the step, as the local
   * transport reports one.
   */
  async addListed(
    root: string,
    prefix: string,
    files: ListedFile[],
    sourceName: string,
  ): Promise<ListedResult> {
    await this.settle();
    try {
      const reply = await this.thread.call({ op: 'addListed', archive: this.archive, root, prefix, files });
      return reply.value as ListedResult;
    } catch (error) {
      const e = error as Error & { file?: string; step?: string };
      if (e.file === undefined) throw error;
      throw fsError(sourceName, e.step ?? 'read', e.file, error);
    }
  }

  async addBuffer(name: string, data: Buffer | string, options: ArchiveEntryOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const entry = { name, mtimeMs: (options.mtime ?? new Date()).getTime(), mode: options.mode ?? 0o644 };
    if (bytes.length > BATCH_BYTES) {
      await this.sendBatch();
      const owned = ownedCopy(bytes);
      await this.send(
        {
          op: 'addBuffers',
          archive: this.archive,
          entries: [{ ...entry, start: 0, end: owned.length }],
          data: owned,
        },
        owned,
      );
      return;
    }
    await this.addParts(name, [bytes], options);
  }

  /**
   * An entry given in pieces (as the SSH transport received it: FileEntry.parts), copied into
   * the batch piece by piece, never joined first. Up to BATCH_BYTES in all.
   */
  async addParts(name: string, parts: readonly Buffer[], options: ArchiveEntryOptions = {}): Promise<void> {
    let size = 0;
    for (const part of parts) size += part.length;
    if (size > BATCH_BYTES) return this.addBuffer(name, Buffer.concat(parts), options);
    const entry = { name, mtimeMs: (options.mtime ?? new Date()).getTime(), mode: options.mode ?? 0o644 };
    if (this.batch && this.batchUsed + size > this.batch.length) await this.sendBatch();
    const batch = (this.batch ??= takeBatch());
    const start = this.batchUsed;
    for (const part of parts) this.batchUsed += part.copy(batch, this.batchUsed);
    this.batchEntries.push({ ...entry, start, end: this.batchUsed });
    if (this.failure) throw this.failure;
  }

  /** A large entry, passed on a MiB at a time as it is read. */
  async addStream(
    name: string,
    source: NodeJS.ReadableStream,
    options: ArchiveEntryOptions = {},
  ): Promise<void> {
    await this.sendBatch();
    const mtimeMs = (options.mtime ?? new Date()).getTime();
    await this.send({ op: 'streamStart', archive: this.archive, name, mtimeMs, mode: options.mode ?? 0o644 });
    let part = takeBatch();
    let used = 0;
    const sendPart = async () => {
      const data = new Uint8Array(part.buffer, part.byteOffset, used);
      part = takeBatch();
      used = 0;
      await this.send({ op: 'streamData', archive: this.archive, data }, data);
    };
    for await (const chunk of source) {
      let bytes = chunk as Buffer;
      while (bytes.length > 0) {
        const taken = Math.min(bytes.length, part.length - used);
        bytes.copy(part, used, 0, taken);
        used += taken;
        bytes = bytes.subarray(taken);
        if (used === part.length) await sendPart();
      }
    }
    if (used > 0) await sendPart();
    else keepBatch(part);
    await this.send({ op: 'streamEnd', archive: this.archive });
  }

  /** Sends the gathered small entries. */
  private async sendBatch(): Promise<void> {
    if (this.batchEntries.length === 0) return;
    const data = new Uint8Array(this.batch!.buffer, this.batch!.byteOffset, this.batchUsed);
    const entries = this.batchEntries;
    this.batch = null;
    this.batchUsed = 0;
    this.batchEntries = [];
    await this.send({ op: 'addBuffers', archive: this.archive, entries, data }, data);
  }

  /** Sends a request (its `transfer` bytes moved to the thread); waits only if too many are unanswered. */
  private async send(request: Request, transfer?: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const sent = this.thread.call(request, transfer ? [transfer.buffer as ArrayBuffer] : undefined).then(
      (reply) => keepBatch(reply.returned),
      (error: Error) => {
        this.failure ??= error;
      },
    );
    this.inFlight.push(sent);
    while (this.inFlight.length > MAX_IN_FLIGHT) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  /** Everything sent is answered; the first failure is thrown. */
  private async settle(): Promise<void> {
    await this.sendBatch();
    while (this.inFlight.length > 0) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  async finish(): Promise<ArchiveResult> {
    await this.settle();
    const reply = await this.thread.call({ op: 'finish', archive: this.archive });
    this.release();
    const finished = reply.value as FinishedArchive;
    return {
      files: { [path.basename(this.path)]: { bytes: finished.bytes, sha256: finished.sha256 } },
      entries: finished.entries,
      bytes: finished.bytes,
    };
  }

  async abort(): Promise<void> {
    this.release();
    this.batch = null;
    this.batchEntries = [];
    await Promise.all(this.inFlight.splice(0));
    if (this.thread.usable)
      await this.thread.call({ op: 'abort', archive: this.archive }).catch(() => undefined);
    await fs.promises.rm(this.path, { force: true });
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.open--;
  }
}
