import * as archiverModule from 'archiver';
import type { Archiver, ArchiverError, ArchiverOptions } from 'archiver';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveEntryOptions, ArchiveResult, ArchiveWriter, ArchiveWriterOptions } from './archive';
import { HashingFileStream } from './hashing-file-stream';
import { openSourceFile } from './source-file';
import { StoredZipWriter } from './stored-zip-writer';
import { claimEntryName } from './zip-entry-name';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface ZipWriterOptions extends ArchiveWriterOptions {
  /** `store` (default): no compression, as Zimbra's backups; `deflate`: compressed. */
  compression?: 'store' | 'deflate';
  /** zlib level for deflate (default 6). */
  level?: number;
}

// The installed archiver 7 exports a factory function (CommonJS); @types/archiver 8 describes
// archiver 8's classes. The instance API we use (append, finalize, abort, events) is the same.
type ArchiverFactory = (format: 'zip', options?: ArchiverOptions) => Archiver;
const createArchiver: ArchiverFactory =
  (archiverModule as unknown as { default?: ArchiverFactory }).default ??
  (archiverModule as unknown as ArchiverFactory);

// archiver takes a buffer into its stream at once and reports the entry done, whatever the disk's
// pace. An add resolves only once the file has caught up with every buffer handed over: memory
// stays bounded on a slow target, and it measured faster too (20,000 × 20 KiB: 2.2 s, against
// 2.6–2.8 s when adds resolve with up to 1–8 MiB or any amount still queued in memory).

/**
 * A deflated zip archive (--zip) written with archiver, streamed into a HashingFileStream so that its size and
 * SHA-256 are known when it is finished, without reading it back. ZIP64 records are written by
 * archiver when the archive needs them (more than 65,535 entries, or offsets past 4 GiB), or
 * always with `forceZip64`.
 */
export class ZipWriter implements ArchiveWriter {
  readonly mode: 'store' | 'deflate';
  private readonly archive: Archiver;
  private readonly file: HashingFileStream;
  private readonly names = new Set<string>();
  private readonly waiting: Waiter[] = [];
  /** Entries taken by archiver, waiting for the file to catch up before their add resolves. */
  private readonly draining: Waiter[] = [];
  /** Bytes of buffer sources handed to archiver (stream sources are paced by their pipe). */
  private appended = 0;
  private failure: Error | null = null;
  private readonly failed: Promise<never>;
  private rejectFailed!: (error: Error) => void;
  private entries = 0;
  private state: 'open' | 'finishing' | 'done' = 'open';

  private constructor(
    readonly path: string,
    options: ZipWriterOptions,
  ) {
    this.mode = options.compression ?? 'store';
    this.archive = createArchiver('zip', {
      store: this.mode === 'store',
      zlib: { level: options.level ?? 6 },
      forceZip64: options.forceZip64 ?? false,
      highWaterMark: 1 << 20,
    });
    this.file = new HashingFileStream(this.path, {
      onBytes: (n) => {
        options.onBytes?.(n);
        this.releaseDrained();
      },
    });
    this.failed = new Promise<never>((_resolve, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
    this.archive.on('entry', () => {
      this.entries++;
      const waiter = this.waiting.shift();
      if (waiter) this.draining.push(waiter);
      this.releaseDrained();
    });
    // archiver reports unreadable sources as warnings; in a backup they are errors.
    this.archive.on('warning', (error: ArchiverError) => this.fail(error));
    this.archive.on('error', (error: ArchiverError) => this.fail(error));
    this.file.on('error', (error) => this.fail(error));
    this.archive.pipe(this.file);
  }

  /** A stored zip is written by StoredZipWriter (faster, see there); deflate goes through archiver. */
  static async create(zipPath: string, options: ZipWriterOptions = {}): Promise<ArchiveWriter> {
    if ((options.compression ?? 'store') === 'store') return StoredZipWriter.create(zipPath, options);
    await fs.promises.mkdir(path.dirname(zipPath), { recursive: true });
    return new ZipWriter(zipPath, options);
  }

  get bytesWritten(): number {
    return this.file.bytesWritten;
  }

  async addBuffer(name: string, data: Buffer | string, options: ArchiveEntryOptions = {}): Promise<void> {
    return this.append(name, typeof data === 'string' ? Buffer.from(data) : data, options);
  }

  async addStream(name: string, source: Readable, options: ArchiveEntryOptions = {}): Promise<void> {
    return this.append(name, source, options);
  }

  async addFile(name: string, sourcePath: string, options: ArchiveEntryOptions = {}): Promise<void> {
    this.checkName(name);
    // Small files go in as buffers: archiver then writes their sizes and CRC in the local header
    // (no data descriptor), and skips a stream per entry.
    const { stats, data, stream } = await openSourceFile(sourcePath);
    const entry = { mtime: options.mtime ?? stats.mtime, mode: options.mode ?? stats.mode & 0o7777 };
    return this.append(name, (data ?? stream) as Buffer | Readable, entry, true);
  }

  async finish(): Promise<ArchiveResult> {
    if (this.state !== 'open') throw new Error(`${this.path} is already ${this.state}`);
    this.state = 'finishing';
    this.throwIfFailed();
    await Promise.race([this.archive.finalize(), this.failed]);
    const record = await this.file.record;
    this.throwIfFailed();
    this.state = 'done';
    return { files: { [path.basename(this.path)]: record }, entries: this.entries, bytes: record.bytes };
  }

  async abort(): Promise<void> {
    this.state = 'done';
    this.fail(new Error(`${this.path} was aborted`));
    await this.file.record.catch(() => undefined);
  }

  private append(
    name: string,
    source: Buffer | Readable,
    options: ArchiveEntryOptions,
    checked = false,
  ): Promise<void> {
    if (!checked) this.checkName(name);
    this.throwIfFailed();
    if (this.state !== 'open') throw new Error(`${this.path} is ${this.state}; no more entries`);
    const added = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    // Deflate writes fewer bytes than it takes: counted, a compressible buffer would keep the file
    // "behind" forever and its add would never resolve. There the pipe's backpressure paces
    // archiver, and an add resolves when its entry is through.
    if (Buffer.isBuffer(source) && this.mode === 'store') this.appended += source.length;
    this.archive.append(source, { name, date: options.mtime, mode: options.mode });
    return added;
  }

  private releaseDrained(): void {
    while (this.draining.length > 0 && this.appended <= this.file.bytesWritten)
      this.draining.shift()?.resolve();
  }

  private checkName(name: string): void {
    claimEntryName(this.names, name, this.path);
  }

  /** The first failure stops everything: pending adds reject, and the partial zip is removed. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectFailed(error);
    for (const waiter of [...this.draining.splice(0), ...this.waiting.splice(0)]) waiter.reject(error);
    this.archive.unpipe(this.file);
    this.archive.abort();
    this.file.destroy();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
