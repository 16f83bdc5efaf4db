import { Readable } from 'node:stream';
import { paxTimeToMs } from './find-records';

/**
 * The regular files of a tar stream (GNU tar's --format=posix output, ustar with pax headers),
 * as they arrive. Written by hand rather than with tar-stream for speed: a mailbox is hundreds
 * of ~20 KiB blobs, and tar-stream made each one a streamx stream, which ssh-read-files wrapped
 * in a Node Readable and the backup read back into one buffer: measured on bench/full-backup.ts
 * (100 × 500 over SSH), that per-entry stream machinery and its garbage were the largest share
 * of the main thread after decryption. Here a small file's bytes are not copied at all: it is
 * handed over whole as views of the channel's chunks (`parts`); only files over `wholeBytes`
 * become a stream.
 */

/** Where the tar bytes come from: the next chunk, or null at the end. */
export interface ChunkSource {
  next(): Promise<Buffer | null>;
}

export interface TarFile {
  /** The member name (pax `path`, or ustar prefix/name). */
  name: string;
  size: number;
  mtimeMs: number;
  /** The whole content, for a file up to `wholeBytes`: views of the chunks it lies in. */
  parts?: Buffer[];
  /** Otherwise the content as a stream, to be read (or destroyed) before the next file. */
  content?: Readable;
}

const BLOCK = 512;

export class TarFormatError extends Error {}

/** Reads exact byte counts across chunk boundaries. */
class Cursor {
  private chunk: Buffer = Buffer.alloc(0);
  private at = 0;

  constructor(private readonly source: ChunkSource) {}

  /** Up to `max` bytes as they come (no copy), or null at the end of the stream. */
  async some(max: number): Promise<Buffer | null> {
    if (this.at >= this.chunk.length) {
      const next = await this.source.next();
      if (!next) return null;
      this.chunk = next;
      this.at = 0;
    }
    const end = Math.min(this.chunk.length, this.at + max);
    const out = this.chunk.subarray(this.at, end);
    this.at = end;
    return out;
  }

  /**
   * The next `bytes` bytes as views of the chunks they span, with no copy (one view where they
   * lie inside one chunk); null if the stream ends first.
   */
  async views(bytes: number): Promise<Buffer[] | null> {
    const parts: Buffer[] = [];
    for (let left = bytes; left > 0;) {
      const part = await this.some(left);
      if (!part) return null;
      parts.push(part);
      left -= part.length;
    }
    return parts;
  }

  /** Exactly into.length bytes into `into`; false if the stream ended first. */
  async fill(into: Buffer): Promise<boolean> {
    let filled = 0;
    while (filled < into.length) {
      const part = await this.some(into.length - filled);
      if (!part) return false;
      part.copy(into, filled);
      filled += part.length;
    }
    return true;
  }

  async skip(bytes: number): Promise<boolean> {
    let left = bytes;
    while (left > 0) {
      const part = await this.some(left);
      if (!part) return false;
      left -= part.length;
    }
    return true;
  }
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

function text(header: Buffer, start: number, length: number): string {
  const end = header.indexOf(0, start);
  return header.toString('utf8', start, end >= 0 && end < start + length ? end : start + length);
}

/** An octal field, or GNU's base-256 form (high bit set) for values past its octal range. */
function numeric(header: Buffer, start: number, length: number): number {
  if (header[start]! & 0x80) {
    let value = header[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + header[i]!;
    return value;
  }
  const digits = text(header, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === numeric(header, 148, 8);
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString('latin1', at, space));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || at + length > data.length)
      throw new TarFormatError('a pax header record is malformed');
    const record = data.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/** Headers a file may be preceded by: pax (x), pax global (g), GNU long name (L) and link (K). */
const META_TYPES = new Set(['x', 'g', 'L', 'K']);
const FILE_TYPES = new Set(['0', '\0', '7']);
const META_MAX_BYTES = 1 << 20;

export async function* splitTar(source: ChunkSource, wholeBytes: number): AsyncGenerator<TarFile> {
  const cursor = new Cursor(source);
  const header = Buffer.allocUnsafe(BLOCK);
  let pax = new Map<string, string>();
  let longName: string | null = null;
  for (;;) {
    if (!(await cursor.fill(header))) {
      // A stream that ends on a block boundary without the end blocks: tar was cut off.
      throw new TarFormatError('the tar stream ended before its end-of-archive blocks');
    }
    if (header.every((byte) => byte === 0)) {
      while (await cursor.some(1 << 20)); // the second end block and tar's padding
      return;
    }
    if (!checksumOk(header)) throw new TarFormatError('a tar header has a bad checksum');
    const type = String.fromCharCode(header[156]!);
    const size = pax.has('size') ? Number(pax.get('size')) : numeric(header, 124, 12);
    if (META_TYPES.has(type)) {
      if (size > META_MAX_BYTES) throw new TarFormatError(`a tar ${type} header of ${size} bytes`);
      const data = Buffer.allocUnsafe(size);
      if (!(await cursor.fill(data)) || !(await cursor.skip(padding(size))))
        throw new TarFormatError('the tar stream ended inside a header');
      if (type === 'x') pax = paxRecords(data);
      else if (type === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const ustarPrefix = header.toString('latin1', 257, 262) === 'ustar' ? text(header, 345, 155) : '';
    const name =
      pax.get('path') ??
      longName ??
      (ustarPrefix ? `${ustarPrefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    const paxMtime = pax.get('mtime');
    const mtimeMs = paxMtime ? paxTimeToMs(paxMtime) : numeric(header, 136, 12) * 1000;
    pax = new Map();
    longName = null;
    if (!FILE_TYPES.has(type)) {
      if (!(await cursor.skip(size + padding(size))))
        throw new TarFormatError('the tar stream ended inside an entry');
      continue;
    }
    if (size <= wholeBytes) {
      // Handed over as views of the chunks it lies in (the link's own decrypted packets, never
      // reused), not copied: each copy was a page-faulted MiB of new memory per MiB of mail and,
      // counted as external memory, brought V8's next full collection closer (92 of them in a
      // 100 × 500 backup over SSH when every small file was copied into a slab).
      const parts = await cursor.views(size);
      if (!parts || !(await cursor.skip(padding(size))))
        throw new TarFormatError(`the tar stream ended inside ${name}`);
      yield { name, size, mtimeMs, parts };
      continue;
    }
    const left = { bytes: size };
    const content = Readable.from(entryChunks(cursor, left, name), { objectMode: false });
    yield { name, size, mtimeMs, content };
    // The consumer may have stopped early: what it left of the entry is skipped here.
    if (!(await cursor.skip(left.bytes + padding(size))))
      throw new TarFormatError(`the tar stream ended inside ${name}`);
  }
}

async function* entryChunks(cursor: Cursor, left: { bytes: number }, name: string): AsyncGenerator<Buffer> {
  while (left.bytes > 0) {
    const part = await cursor.some(Math.min(left.bytes, 1 << 20));
    if (!part) throw new TarFormatError(`the tar stream ended inside ${name}`);
    left.bytes -= part.length;
    yield part;
  }
}
