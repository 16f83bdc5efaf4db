import crypto from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import type { FileRecord } from './manifest';

/** Bytes gathered before one writev (see gather). */
const COALESCE_BYTES = 1 << 20;

export interface HashingFileStreamOptions {
  /** Called with the size of every chunk the stream takes (for progress and pacing). */
  onBytes?: (bytes: number) => void;
  /** Buffered bytes before the writer is told to wait; chunks queued meanwhile go out in one writev. */
  highWaterMark?: number;
}

/**
 * A writable file that computes SHA-256 and counts bytes as data streams through, so nothing is
 * read back to checksum it. The file is created exclusively (never overwrites). `record`
 * resolves to its size and SHA-256 once the stream has finished and the file is closed; if
 * the stream fails or is destroyed first, the partial file is removed and `record` rejects.
 * No fsync here: the session writer syncs every file once before committing.
 */
export class HashingFileStream extends Writable {
  readonly record: Promise<FileRecord>;
  private handle: fs.promises.FileHandle | null = null;
  private readonly hash = crypto.createHash('sha256');
  private bytes = 0;
  private finished = false;
  private created = false;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private settle!: { resolve: (r: FileRecord) => void; reject: (e: Error) => void };

  constructor(
    readonly path: string,
    private readonly options: HashingFileStreamOptions = {},
  ) {
    super({ highWaterMark: options.highWaterMark ?? 1 << 20 });
    this.record = new Promise<FileRecord>((resolve, reject) => (this.settle = { resolve, reject }));
    // The owner may only await `record`, or only watch 'error'; neither must crash the process.
    // Without a listener, an 'error' (ENOSPC while a mailbox's rows stream in) would be thrown
    // by the event emitter and end the process with a stack trace; `record` carries it instead.
    this.record.catch(() => undefined);
    this.on('error', () => undefined);
  }

  /** Bytes taken so far (up to COALESCE_BYTES of them may still be on their way to the file). */
  get bytesWritten(): number {
    return this.bytes;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    fs.promises.open(this.path, 'wx').then(
      (handle) => {
        this.handle = handle;
        this.created = true;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.gather([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.gather(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /**
   * Chunks are gathered to COALESCE_BYTES and written with one writev: a zip of small blobs
   * arrives as three chunks per entry (header, data, descriptor), and a system call per chunk
   * was the largest share of a local backup's main-thread time.
   */
  private gather(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    let taken = 0;
    for (const chunk of chunks) {
      this.hash.update(chunk);
      this.gathered.push(chunk);
      taken += chunk.length;
    }
    this.gatheredBytes += taken;
    // Counted when taken, not when flushed: writers pace themselves on bytesWritten, and at most
    // COALESCE_BYTES wait here, so memory stays bounded either way.
    this.bytes += taken;
    this.options.onBytes?.(taken);
    if (this.gatheredBytes < COALESCE_BYTES) return callback();
    this.flushGathered().then(() => callback(), callback);
  }

  private flushGathered(): Promise<void> {
    const chunks = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    return chunks.length > 0 ? this.writeChunks(chunks) : Promise.resolve();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flushGathered()
      .then(() => {
        const handle = this.handle;
        this.handle = null;
        return handle ? handle.close() : undefined;
      })
      .then(() => {
        this.finished = true;
        this.settle.resolve({ bytes: this.bytes, sha256: this.hash.digest('hex') });
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.finished) return callback(error);
    const handle = this.handle;
    this.handle = null;
    const failure = error ?? new Error(`${this.path} was closed before it was finished`);
    (handle ? handle.close() : Promise.resolve())
      .catch(() => undefined)
      // Only a file this stream created is removed; an existing one made 'wx' fail and stays.
      .then(() => (this.created ? fs.promises.rm(this.path, { force: true }) : undefined))
      .catch(() => undefined)
      .then(() => {
        this.settle.reject(failure);
        callback(error);
      });
  }

  private async writeChunks(chunks: Buffer[]): Promise<void> {
    if (!this.handle) throw new Error(`${this.path} is not open`);
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    // libuv writes all buffers (splitting past IOV_MAX, resuming short writes); check anyway.
    const { bytesWritten } = await this.handle.writev(chunks);
    if (bytesWritten !== total)
      throw new Error(`short write to ${this.path}: ${bytesWritten} of ${total} bytes`);
  }
}

/** Writes a whole buffer to a new file, returning its size and SHA-256 (computed from memory). */
export async function writeHashedFile(file: string, data: string | Buffer): Promise<FileRecord> {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  await fs.promises.writeFile(file, buffer, { flag: 'wx' });
  return { bytes: buffer.length, sha256: crypto.createHash('sha256').update(buffer).digest('hex') };
}

/** Size and SHA-256 of an existing file, read once (for files another program wrote). */
export async function hashFile(file: string): Promise<FileRecord> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
