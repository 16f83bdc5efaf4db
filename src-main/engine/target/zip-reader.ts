import fs from 'node:fs';
import path from 'node:path';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { BlockCachedReader } from './block-cached-reader';
import { CorruptArchiveError, TargetError, UnsafeZipEntryError } from './errors';
import { resolveInside, unsafeRelativePathReason } from './layout';

export interface ZipEntryInfo {
  /** Relative '/'-separated name; directories end with '/'. Checked safe when the archive was opened. */
  name: string;
  isDirectory: boolean;
  size: number;
  compressedSize: number;
  crc32: number;
  mtime: Date;
  /** Unix permission bits when the archive recorded them. */
  mode: number | null;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const MADE_BY_UNIX = 3;

/**
 * Reads a zip with yauzl, refusing what could do harm on extraction (zip-slip): every entry
 * name is checked when the archive is opened, and the archive is refused as a whole if one name
 * is absolute, has `..`, `.` or empty segments, backslashes, NUL or control characters, a drive
 * letter, or appears twice, or if an entry is a symbolic link, a device or encrypted. Extraction
 * also resolves each path under the destination's real path. Every entry read is checked
 * against its CRC-32 (yauzl checks sizes, not CRCs).
 */
export class ZipReader {
  private readonly byName = new Map<string, { info: ZipEntryInfo; raw: yauzl.Entry }>();

  private constructor(
    readonly path: string,
    private readonly zip: yauzl.ZipFile,
    private readonly blocks: StoredBlocks,
    private readonly fileSize: number,
    readonly entries: readonly ZipEntryInfo[],
    raws: yauzl.Entry[],
  ) {
    entries.forEach((info, i) => this.byName.set(info.name, { info, raw: raws[i] as yauzl.Entry }));
  }

  static async open(zipPath: string): Promise<ZipReader> {
    const fd = await promisify(fs.open)(zipPath, 'r');
    let zip: yauzl.ZipFile;
    let size: number;
    try {
      size = (await promisify(fs.fstat)(fd)).size;
      // decodeStrings off: names are decoded and checked here, strictly (backslashes kept, refused).
      const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };
      zip = await yauzl.fromRandomAccessReaderPromise(new BlockCachedReader(fd), size, options);
    } catch (error) {
      fs.close(fd, () => undefined);
      throw asCorrupt(zipPath, error);
    }
    const entries: ZipEntryInfo[] = [];
    const raws: yauzl.Entry[] = [];
    const seen = new Set<string>();
    try {
      for await (const raw of zip.eachEntry()) {
        const info = describeEntry(zipPath, raw);
        if (seen.has(info.name)) throw new UnsafeZipEntryError(zipPath, info.name, 'appears twice');
        seen.add(info.name);
        entries.push(info);
        raws.push(raw);
      }
      refuseOverlaps(zipPath, raws);
      refuseRatio(zipPath, entries, size);
    } catch (error) {
      zip.close();
      throw asCorrupt(zipPath, error);
    }
    return new ZipReader(zipPath, zip, new StoredBlocks(fd), size, entries, raws);
  }

  entry(name: string): ZipEntryInfo | undefined {
    return this.byName.get(name)?.info;
  }

  /** A stream of the entry's content that fails with CorruptArchiveError if its CRC-32 or size is wrong. */
  async openEntry(name: string): Promise<Readable> {
    const found = this.byName.get(name);
    if (!found) throw new TargetError('CORRUPT_ARCHIVE', `${this.path} has no entry ${JSON.stringify(name)}`);
    if (found.info.isDirectory)
      throw new TargetError('CORRUPT_ARCHIVE', `${name} in ${this.path} is a directory`);
    let raw: Readable;
    try {
      raw = await this.zip.openReadStreamPromise(found.raw);
    } catch (error) {
      throw asCorrupt(this.path, error);
    }
    const check = new Crc32Check(this.path, found.info);
    return pipeline(raw, check, () => undefined);
  }

  /**
   * The entry's content, checked against its CRC-32 (CorruptArchiveError naming the entry if it
   * is wrong). A stored entry, what backups write for blobs, is read without a stream: its local
   * header and its data come from a block cache (one 1 MiB read serves the many small
   * entries that follow each other in it), so reading an archive's ~20 KiB blobs in order costs a
   * thread-pool read per block instead of a yauzl stream, a pipeline and a CRC transform per entry.
   */
  async readEntry(name: string): Promise<Buffer> {
    const found = this.byName.get(name);
    if (found && !found.info.isDirectory && found.raw.compressionMethod === 0)
      return this.readStored(found.info, found.raw);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await this.openEntry(name)) chunks.push(chunk as Buffer);
    } catch (error) {
      throw asCorrupt(this.path, error);
    }
    return Buffer.concat(chunks);
  }

  /** A stored entry's bytes, a view of the cached block when it lies in one (never written to). */
  private readStored(info: ZipEntryInfo, raw: yauzl.Entry): Promise<Buffer> {
    const corrupt = (message: string, cause?: unknown) =>
      new CorruptArchiveError(this.path, `${info.name}: ${message}`, cause === undefined ? undefined : { cause });
    return new Promise((resolve, reject) => {
      // yauzl refuses a stored entry whose two sizes differ when the archive is opened.
      if (info.compressedSize !== info.size) return reject(corrupt('stored with two different sizes'));
      const headerAt = raw.relativeOffsetOfLocalHeader;
      this.blocks.view(headerAt, LOCAL_HEADER_BYTES, (headerError, header) => {
        if (headerError || !header) return reject(corrupt('its local header cannot be read', headerError));
        const signature = header.readUInt32LE(0);
        if (signature !== LOCAL_HEADER_SIGNATURE)
          return reject(corrupt(`invalid local header signature 0x${signature.toString(16)}`));
        const dataAt = headerAt + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
        if (dataAt + info.size > this.fileSize)
          return reject(corrupt(`its data overflows the archive (${dataAt} + ${info.size} > ${this.fileSize})`));
        this.blocks.view(dataAt, info.size, (dataError, data) => {
          if (dataError || !data) return reject(corrupt('its data cannot be read', dataError));
          const actual = zlib.crc32(data) >>> 0;
          if (actual !== info.crc32) return reject(corrupt(crcMismatch(actual, info.crc32)));
          resolve(data);
        });
      });
    });
  }

  /** Reads every entry and checks its CRC-32 and size (what `unzip -t` does). */
  async test(): Promise<{ entries: number; bytes: number }> {
    let bytes = 0;
    for (const info of this.entries) {
      if (info.isDirectory) continue;
      try {
        for await (const chunk of await this.openEntry(info.name)) bytes += (chunk as Buffer).length;
      } catch (error) {
        throw asCorrupt(this.path, error);
      }
    }
    return { entries: this.entries.length, bytes };
  }

  /** Extracts every entry under `dest`; never writes outside it and never overwrites a file. */
  async extractAll(dest: string): Promise<{ files: number; bytes: number }> {
    await fs.promises.mkdir(dest, { recursive: true });
    const realDest = await fs.promises.realpath(dest);
    const checkedDirs = new Set<string>();
    let files = 0;
    let bytes = 0;
    for (const info of this.entries) {
      const target = resolveInside(realDest, info.isDirectory ? info.name.slice(0, -1) : info.name);
      const dir = info.isDirectory ? target : path.dirname(target);
      if (!checkedDirs.has(dir)) {
        await fs.promises.mkdir(dir, { recursive: true });
        // A directory that was already there could be a symbolic link pointing elsewhere.
        const real = await fs.promises.realpath(dir);
        if (real !== realDest && !real.startsWith(realDest + path.sep)) {
          throw new UnsafeZipEntryError(this.path, info.name, `its directory leads outside ${realDest}`);
        }
        checkedDirs.add(dir);
      }
      if (info.isDirectory) continue;
      const mode = info.mode === null ? 0o644 : (info.mode & 0o777) | 0o600;
      try {
        await pipelineAsync(
          await this.openEntry(info.name),
          fs.createWriteStream(target, { flags: 'wx', mode }),
        );
      } catch (error) {
        throw asCorrupt(this.path, error);
      }
      await fs.promises.utimes(target, info.mtime, info.mtime);
      files++;
      bytes += info.size;
    }
    return { files, bytes };
  }

  close(): void {
    this.zip.close();
  }
}

function describeEntry(zipPath: string, raw: yauzl.Entry): ZipEntryInfo {
  const name = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, true);
  const isDirectory = name.endsWith('/');
  const reason = unsafeRelativePathReason(isDirectory ? name.slice(0, -1) : name);
  if (reason) throw new UnsafeZipEntryError(zipPath, name, reason);
  const unixMode = raw.versionMadeBy >> 8 === MADE_BY_UNIX ? raw.externalFileAttributes >>> 16 : 0;
  const type = unixMode & S_IFMT;
  if (type === 0o120000) throw new UnsafeZipEntryError(zipPath, name, 'is a symbolic link');
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR)
    throw new UnsafeZipEntryError(zipPath, name, 'is not a regular file or directory');
  if (raw.isEncrypted()) throw new UnsafeZipEntryError(zipPath, name, 'is encrypted');
  if (!raw.canDecodeFileData())
    throw new CorruptArchiveError(
      zipPath,
      `${name} uses unsupported compression method ${raw.compressionMethod}`,
    );
  return {
    name,
    isDirectory,
    size: raw.uncompressedSize,
    compressedSize: raw.compressedSize,
    crc32: raw.crc32 >>> 0,
    mtime: raw.getLastModDate(),
    mode: unixMode ? unixMode & 0o7777 : null,
  };
}

/**
 * Entries that share bytes (two names for one local header, or a header inside another entry's
 * data) are how the worst zip bombs multiply a small file; no writer makes them. Each entry needs
 * at least its 30-byte local header, its name and its compressed data before the next begins.
 */
function refuseOverlaps(zipPath: string, raws: yauzl.Entry[]): void {
  const byOffset = [...raws].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!;
    const end = previous.relativeOffsetOfLocalHeader + 30 + previous.fileNameLength + previous.compressedSize;
    if (end > byOffset[i]!.relativeOffsetOfLocalHeader)
      throw new UnsafeZipEntryError(
        zipPath,
        yauzl.getFileNameLowLevel(
          byOffset[i]!.generalPurposeBitFlag,
          byOffset[i]!.fileNameRaw,
          byOffset[i]!.extraFields,
          true,
        ),
        'overlaps another entry (a zip bomb)',
      );
  }
}

/**
 * A zip bomb need not lie: one entry of zeros deflates about 1,000:1, and honestly declared sizes
 * pass yauzl's size checks while extraction fills the disk. Mail does not compress like that
 * (text 3-10:1, attachments are already compressed), so an entry, or the archive as a whole,
 * declaring more than MAX_RATIO times its compressed bytes is refused at open, before anything
 * is written. Small entries are let through (a short run of a repeated line can exceed the ratio
 * and harms nothing).
 */
export const MAX_RATIO = 200;
export const RATIO_FREE_BYTES = 4 * 2 ** 20;

function refuseRatio(zipPath: string, entries: ZipEntryInfo[], archiveBytes: number): void {
  let declared = 0;
  for (const info of entries) {
    declared += info.size;
    if (info.size > RATIO_FREE_BYTES && info.size > MAX_RATIO * Math.max(1, info.compressedSize))
      throw new UnsafeZipEntryError(
        zipPath,
        info.name,
        `declares ${info.size} bytes from ${info.compressedSize} compressed (more than ${MAX_RATIO}:1: a zip bomb)`,
      );
  }
  if (declared > 16 * RATIO_FREE_BYTES && declared > MAX_RATIO * Math.max(1, archiveBytes))
    throw new CorruptArchiveError(
      zipPath,
      `its entries declare ${declared} bytes from a ${archiveBytes}-byte archive (more than ${MAX_RATIO}:1: a zip bomb)`,
    );
}

function asCorrupt(zipPath: string, error: unknown): Error {
  if (error instanceof TargetError) return error;
  return new CorruptArchiveError(zipPath, (error as Error).message, { cause: error });
}

const BLOCK = 1 << 20;

/**
 * The block cache of readStored, on the descriptor yauzl's BlockCachedReader reads (which closes
 * it): views of 1 MiB blocks read in order, what a walk of an archive's small entries needs.
 */
class StoredBlocks {
  private block: { start: number; data: Buffer } | null = null;

  constructor(private readonly fd: number) {}

  /**
   * Bytes [position, position + length) without a copy: a view of the cached block when they lie
   * in it (the callback then runs before view returns), else of a block read from position, or
   * of their own buffer when longer than a block. A view stays valid: each block is read into a
   * new buffer, never over the one it replaces.
   */
  view(position: number, length: number, callback: (error: Error | null, bytes?: Buffer) => void): void {
    const block = this.block;
    if (block && position >= block.start && position + length <= block.start + block.data.length)
      return callback(null, block.data.subarray(position - block.start, position - block.start + length));
    const data = Buffer.allocUnsafe(Math.max(length, BLOCK));
    const readFrom = (filled: number): void => {
      fs.read(this.fd, data, filled, data.length - filled, position + filled, (error, bytesRead) => {
        if (error) return callback(error);
        const end = filled + bytesRead;
        if (bytesRead > 0 && end < length) return readFrom(end);
        if (end < length) return callback(new Error(`unexpected end of file at ${position + end}`));
        if (data.length === BLOCK) this.block = { start: position, data: data.subarray(0, end) };
        callback(null, data.subarray(0, length));
      });
    };
    readFrom(0);
  }
}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;

const crcMismatch = (actual: number, recorded: number): string => {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  return `CRC-32 is ${hex(actual)}, the archive says ${hex(recorded)}`;
};

/** Passes data through, failing at the end if its CRC-32 is not the one the archive recorded. */
class Crc32Check extends Transform {
  private crc = 0;

  constructor(
    private readonly zipPath: string,
    private readonly info: ZipEntryInfo,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = zlib.crc32(chunk, this.crc);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.crc >>> 0;
    if (actual === this.info.crc32) return callback();
    callback(new CorruptArchiveError(this.zipPath, `${this.info.name}: ${crcMismatch(actual, this.info.crc32)}`));
  }
}
