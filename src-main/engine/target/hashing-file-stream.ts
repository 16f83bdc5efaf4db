import crypto from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import type { FileRecord } from './manifest';

export interface HashingFileStreamOptions {
  /** Called with the size of every chunk as it reaches the file (for progress). */
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
  private settle!: { resolve: (r: FileRecord) => void; reject: (e: Error) => void };

  constructor(
    readonly path: string,
    private readonly options: HashingFileStreamOptions = {},
  ) {
    super({ highWaterMark: options.highWaterMark ?? 1 << 20 });
    this.record = new Promise<FileRecord>((resolve, reject) => (this.settle = { resolve, reject }));
    // The owner may only await `record`, or only watch 'error'; neither must crash the process.
    this.record.catch(() => undefined);
  }

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
    this.writeChunks([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeChunks(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = null;
    (handle ? handle.close() : Promise.resolve()).then(() => {
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
    for (const chunk of chunks) {
      this.hash.update(chunk);
      total += chunk.length;
    }
    // libuv writes all buffers (splitting past IOV_MAX, resuming short writes); check anyway.
    const { bytesWritten } = await this.handle.writev(chunks);
    if (bytesWritten !== total)
      throw new Error(`short write to ${this.path}: ${bytesWritten} of ${total} bytes`);
    this.bytes += total;
    this.options.onBytes?.(total);
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
