import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { isMissing } from '../transport/fs-errors';
import type { BufferedEntry, FinishedArchive, ListedFile, ListedResult } from './zip-thread-protocol';
import { claimEntryName } from './zip-entry-name';
import {
  centralDirectory,
  dataDescriptor,
  entryRecord,
  localHeader,
  type ZipEntryRecord,
} from './zip-format';

// Node 20.15+ has zlib.crc32 (native); @types may lag.
const crc32 = (zlib as unknown as { crc32: (data: Uint8Array, value?: number) => number }).crc32;

/** Bytes gathered before one write: one system call per MiB. */
const FLUSH_BYTES = 1 << 20;
/** Files up to this size are read in one call straight into the output buffer. */
const WHOLE_FILE_BYTES = 1 << 20;
/** The output buffer: a whole small file, its header and a MiB gathered before it always fit. */
const BUFFER_BYTES = FLUSH_BYTES + WHOLE_FILE_BYTES + 64 * 1024;

/**
 * Output buffers kept for the next archive on this thread: a thread builds hundreds of archives
 * in a run, and a fresh 2 MiB buffer each left the process's peak RSS ~90 MiB higher (freed
 * blocks of that size stay in the allocator's per-thread arenas).
 */
const spareBuffers: Buffer[] = [];
const takeBuffer = () => spareBuffers.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);

/** A read that failed, naming the file and the step, as the engine reports it. */
export class SourceReadError extends Error {
  constructor(
    readonly file: string,
    readonly step: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const readFailure = (file: string, step: string, error: unknown) =>
  new SourceReadError(file, step, (error as NodeJS.ErrnoException).code, (error as Error).message);

/**
 * A stored zip written with synchronous calls, for the archive thread (zip-thread-worker.ts):
 * the same bytes StoredZipWriter writes for the same entries (zip-format.ts's records, the same
 * field choices), built without a promise, stream or buffer per entry. A listed file is opened,
 * read in one call straight into the output buffer behind room for its header, checked against
 * the listing (exactly the listed size back), its CRC-32 taken there and its header written in
 * front; the buffer goes to disk a MiB at a time, hashed with SHA-256 on the way.
 *
 * Written by hand for speed (the archive thread exists to take this work off the engine's main
 * thread). On the thread, synchronous calls cost only the system calls themselves.
 */
export class SyncStoredZip {
  private readonly hash = crypto.createHash('sha256');
  private readonly entries: ZipEntryRecord[] = [];
  private readonly names = new Set<string>();
  private readonly out = takeBuffer();
  /** Bytes in `out` not yet written. */
  private filled = 0;
  /** Archive bytes before `out[0]`. */
  private flushed = 0;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly forceZip64: boolean,
  ) {
    this.fd = fd;
  }

  static create(zipPath: string, forceZip64 = false): SyncStoredZip {
    fs.mkdirSync(path.dirname(zipPath), { recursive: true });
    return new SyncStoredZip(zipPath, fs.openSync(zipPath, 'wx'), forceZip64);
  }

  /** Bytes in the archive so far. */
  private get taken(): number {
    return this.flushed + this.filled;
  }

  /** Each listed file under root as an entry `prefix + path`; see ListedResult. */
  addListed(root: string, prefix: string, files: ListedFile[]): ListedResult {
    const sizes: number[] = [];
    const mtimes: number[] = [];
    for (const file of files) {
      const added = this.addListedFile(path.join(root, file.path), `${prefix}${file.path}`, file);
      sizes.push(added ? added.size : -1);
      mtimes.push(added ? added.mtimeMs : 0);
    }
    return { sizes, mtimes };
  }

  private addBuffer(name: string, data: Uint8Array, mtimeMs: number, mode: number): void {
    const entry = this.record(name, mtimeMs, mode);
    entry.crc = data.length > 0 ? crc32(data) >>> 0 : 0;
    entry.size = data.length;
    entry.offset = this.taken;
    this.put(localHeader(entry));
    this.put(data);
    this.entries.push(entry);
  }

  /** Entries whose bytes lie one after another in `data` (see BufferedEntry). */
  addBuffers(entries: BufferedEntry[], data: Uint8Array): void {
    for (const entry of entries)
      this.addBuffer(entry.name, data.subarray(entry.start, entry.end), entry.mtimeMs, entry.mode);
  }

  /** A large entry whose bytes come in parts (streamData) before its size and CRC are known. */
  startStream(name: string, mtimeMs: number, mode: number): void {
    if (this.streaming) throw new Error(`${this.path}: an entry is already being streamed`);
    const entry = this.record(name, mtimeMs, mode);
    // Its CRC and size follow the data, in a ZIP64 data descriptor (as addByStat's).
    entry.descriptor = true;
    entry.offset = this.taken;
    this.put(localHeader(entry));
    this.streaming = { entry, crc: 0, size: 0 };
  }

  streamData(data: Uint8Array): void {
    const streaming = this.streamingEntry();
    if (data.length === 0) return;
    streaming.crc = crc32(data, streaming.crc);
    streaming.size += data.length;
    this.put(data);
  }

  endStream(): void {
    const { entry, crc, size } = this.streamingEntry();
    this.streaming = null;
    entry.crc = crc >>> 0;
    entry.size = size;
    this.put(dataDescriptor(entry.crc, entry.size));
    this.entries.push(entry);
  }

  private streaming: { entry: ZipEntryRecord; crc: number; size: number } | null = null;

  private streamingEntry(): { entry: ZipEntryRecord; crc: number; size: number } {
    if (!this.streaming) throw new Error(`${this.path}: no entry is being streamed`);
    return this.streaming;
  }

  /** Writes the central directory, closes the file; the archive's size and SHA-256. */
  finish(): FinishedArchive {
    if (this.streaming) throw new Error(`${this.path}: a streamed entry was not completed`);
    this.put(centralDirectory(this.entries, this.taken, this.forceZip64));
    this.flush();
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) fs.closeSync(fd);
    this.releaseBuffer();
    return { bytes: this.flushed, sha256: this.hash.digest('hex'), entries: this.entries.length };
  }

  /** Closes and removes the file (after a failure, or when the engine gives the archive up). */
  abort(): void {
    const fd = this.fd;
    this.fd = null;
    if (fd === null) return;
    this.releaseBuffer();
    try {
      fs.closeSync(fd);
    } finally {
      fs.rmSync(this.path, { force: true });
    }
  }

  private released = false;

  /** Gives the output buffer to the next archive (once; nothing more is written here). */
  private releaseBuffer(): void {
    if (this.released) return;
    this.released = true;
    this.filled = 0;
    spareBuffers.push(this.out);
  }

  /**
   * One listed file: null when it is gone (or not a regular file) by the time it is read. A
   * file that is no longer its listed size is read by its fstat instead (size and mtime from
   * there), streamed if it is large, exactly as many bytes as fstat said (fewer is an error:
   * it shrank while being read).
   */
  private addListedFile(
    full: string,
    name: string,
    listed: ListedFile,
  ): { size: number; mtimeMs: number } | null {
    let fd: number;
    try {
      fd = fs.openSync(full, 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw readFailure(full, 'open', error);
    }
    try {
      if (listed.size <= WHOLE_FILE_BYTES) {
        const added = this.tryWhole(fd, full, name, listed);
        if (added) return added;
      }
      return this.addByStat(fd, full, name);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The quick path: one read of size + 1 bytes in place; null if the file is not as listed. */
  private tryWhole(
    fd: number,
    full: string,
    name: string,
    listed: ListedFile,
  ): { size: number; mtimeMs: number } | null {
    const entry = this.record(name, listed.mtimeMs, 0o644, { claim: false });
    entry.size = listed.size;
    const headerBytes = 30 + entry.name.length; // no ZIP64 extra below 4 GiB (zip-format.ts)
    if (this.filled + headerBytes + listed.size + 1 > this.out.length) this.flush();
    const dataAt = this.filled + headerBytes;
    let got: number;
    try {
      got = fs.readSync(fd, this.out, dataAt, listed.size + 1, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') return null;
      throw readFailure(full, 'read', error);
    }
    if (got !== listed.size) return null;
    this.claim(name);
    entry.crc = got > 0 ? crc32(this.out.subarray(dataAt, dataAt + got)) >>> 0 : 0;
    entry.offset = this.taken;
    const header = localHeader(entry);
    header.copy(this.out, this.filled);
    this.filled = dataAt + got;
    this.entries.push(entry);
    if (this.filled >= FLUSH_BYTES) this.flush();
    return { size: got, mtimeMs: listed.mtimeMs };
  }

  private addByStat(fd: number, full: string, name: string): { size: number; mtimeMs: number } | null {
    let stats: fs.Stats;
    try {
      stats = fs.fstatSync(fd);
    } catch (error) {
      throw readFailure(full, 'stat', error);
    }
    if (!stats.isFile()) return null;
    // Streamed: its CRC and size follow the data, in a ZIP64 data descriptor.
    const entry = this.record(name, stats.mtimeMs, 0o644);
    entry.descriptor = true;
    entry.offset = this.taken;
    this.put(localHeader(entry));
    let crc = 0;
    let position = 0;
    while (position < stats.size) {
      if (this.out.length - this.filled < 64 * 1024) this.flush();
      const want = Math.min(stats.size - position, this.out.length - this.filled);
      let got: number;
      try {
        got = fs.readSync(fd, this.out, this.filled, want, position);
      } catch (error) {
        throw readFailure(full, 'read', error);
      }
      if (got === 0)
        throw new SourceReadError(
          full,
          'read',
          undefined,
          `shrank while being read (${position} of ${stats.size} bytes)`,
        );
      crc = crc32(this.out.subarray(this.filled, this.filled + got), crc);
      this.filled += got;
      position += got;
      if (this.filled >= FLUSH_BYTES) this.flush();
    }
    entry.crc = crc >>> 0;
    entry.size = position;
    this.put(dataDescriptor(entry.crc, entry.size));
    this.entries.push(entry);
    return { size: position, mtimeMs: stats.mtimeMs };
  }

  private record(
    name: string,
    mtimeMs: number,
    mode: number,
    options: { claim: boolean } = { claim: true },
  ): ZipEntryRecord {
    if (this.fd === null) throw new Error(`${this.path} is closed; no more entries`);
    if (this.streaming) throw new Error(`${this.path}: ${name} added while an entry is being streamed`);
    if (options.claim) this.claim(name);
    return entryRecord(name, new Date(mtimeMs), mode);
  }

  private claim(name: string): void {
    claimEntryName(this.names, name, this.path);
  }

  /** Appends bytes, through the buffer (small) or straight to disk (large). */
  private put(data: Uint8Array): void {
    if (this.filled + data.length <= this.out.length) {
      this.out.set(data, this.filled);
      this.filled += data.length;
      if (this.filled >= FLUSH_BYTES) this.flush();
      return;
    }
    this.flush();
    this.writeOut(data);
  }

  private flush(): void {
    if (this.filled === 0) return;
    const chunk = this.out.subarray(0, this.filled);
    this.writeOut(chunk);
    this.filled = 0;
  }

  private writeOut(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    this.hash.update(data);
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, null);
    this.flushed += data.length;
  }
}
