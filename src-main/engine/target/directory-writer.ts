import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchiveEntryOptions, ArchiveResult, ArchiveWriter, ArchiveWriterOptions } from './archive';
import { UnsafePathError } from './errors';
import { HashingFileStream, writeHashedFile } from './hashing-file-stream';
import type { FileRecord } from './manifest';
import { resolveInside } from './layout';
import { openSourceFile } from './source-file';

/**
 * --noZip: the "archive" is a directory of plain files, one per entry, each hashed as it is
 * written. Same interface as ZipWriter, so callers do not care which mode is on.
 */
export class DirectoryWriter implements ArchiveWriter {
  readonly mode = 'none' as const;
  private readonly names = new Set<string>();
  private readonly files = new Map<string, FileRecord>();
  private readonly madeDirs = new Set<string>();
  private bytes = 0;
  private state: 'open' | 'done' = 'open';

  private constructor(
    readonly path: string,
    private readonly options: ArchiveWriterOptions,
  ) {}

  /** Creates the directory, which must not exist yet. */
  static async create(dir: string, options: ArchiveWriterOptions = {}): Promise<DirectoryWriter> {
    await fs.promises.mkdir(path.dirname(dir), { recursive: true });
    await fs.promises.mkdir(dir);
    return new DirectoryWriter(dir, options);
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  async addBuffer(name: string, data: Buffer | string, options: ArchiveEntryOptions = {}): Promise<void> {
    const file = await this.prepare(name);
    const record = await writeHashedFile(file, data);
    this.count(record.bytes);
    await this.finishEntry(name, file, record, options);
  }

  async addStream(name: string, source: Readable, options: ArchiveEntryOptions = {}): Promise<void> {
    const file = await this.prepare(name);
    const sink = new HashingFileStream(file, { onBytes: (n) => this.count(n) });
    await pipeline(source, sink);
    await this.finishEntry(name, file, await sink.record, options);
  }

  async addFile(name: string, sourcePath: string, options: ArchiveEntryOptions = {}): Promise<void> {
    const { stats, data, stream } = await openSourceFile(sourcePath);
    const entry = { mtime: options.mtime ?? stats.mtime, mode: options.mode ?? stats.mode & 0o7777 };
    if (data) return this.addBuffer(name, data, entry);
    return this.addStream(name, stream as Readable, entry);
  }

  async finish(): Promise<ArchiveResult> {
    if (this.state !== 'open') throw new Error(`${this.path} is already finished`);
    this.state = 'done';
    const base = path.basename(this.path);
    const files: Record<string, FileRecord> = {};
    for (const [name, record] of this.files) files[`${base}/${name}`] = record;
    return { files, entries: this.files.size, bytes: this.bytes };
  }

  async abort(): Promise<void> {
    this.state = 'done';
    await fs.promises.rm(this.path, { recursive: true, force: true });
  }

  private async prepare(name: string): Promise<string> {
    if (this.state !== 'open') throw new Error(`${this.path} is finished; no more entries`);
    const file = resolveInside(this.path, name);
    if (this.names.has(name)) throw new UnsafePathError(name, `is already in ${this.path}`);
    this.names.add(name);
    const parent = path.dirname(file);
    if (!this.madeDirs.has(parent)) {
      await fs.promises.mkdir(parent, { recursive: true });
      this.madeDirs.add(parent);
    }
    return file;
  }

  private async finishEntry(
    name: string,
    file: string,
    record: FileRecord,
    options: ArchiveEntryOptions,
  ): Promise<void> {
    // The owner keeps read and write, so that verify and prune can always read and remove it.
    if (options.mode !== undefined) await fs.promises.chmod(file, (options.mode & 0o7777) | 0o600);
    if (options.mtime) await fs.promises.utimes(file, options.mtime, options.mtime);
    this.files.set(name, record);
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    this.options.onBytes?.(bytes);
  }
}
