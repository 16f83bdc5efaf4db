/**
 * The records of a stored (uncompressed) zip, as APPNOTE 6.3 lays them out: local headers,
 * data descriptors, central directory entries, and the end records (ZIP64 ones when needed).
 * Field choices follow what archiver wrote before (UTC DOS times, Unix mode in the external
 * attributes, "made by" Unix 4.5), so archives read the same to ZipReader, unzip and restores.
 */

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
/** A 32-bit field holding this means "see the ZIP64 extra field". */
export const ZIP64_MAGIC = 0xffffffff;
const ZIP64_MAGIC_SHORT = 0xffff;
const MADE_BY_UNIX_45 = (3 << 8) | 45;
const VERSION_STORED = 10;
const VERSION_ZIP64 = 45;
const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const S_IFREG = 0o100000;
const DOS_ARCHIVE = 0x20;

/** One entry as the central directory needs it. */
export interface ZipEntryRecord {
  name: Buffer;
  utf8: boolean;
  crc: number;
  size: number;
  offset: number;
  dosTime: number;
  mode: number;
  /** Sizes and CRC follow the data (a stream: unknown when the header was written). */
  descriptor: boolean;
}

/** A new entry's record, before its data: CRC, size and offset are filled in as it is written. */
export function entryRecord(name: string, mtime: Date, mode: number): ZipEntryRecord {
  const encoded = Buffer.from(name, 'utf8');
  return {
    name: encoded,
    utf8: encoded.length !== name.length,
    crc: 0,
    size: 0,
    offset: 0,
    dosTime: dosTime(mtime),
    mode: mode & 0o7777,
    descriptor: false,
  };
}

/** UTC date and time in DOS format (date in the high 16 bits), clamped to 1980–2043 as archiver does. */
export function dosTime(date: Date): number {
  const year = date.getUTCFullYear();
  if (year < 1980) return 0x00210000; // 1980-01-01 00:00:00
  if (year >= 2044) return 0x7f9fbf7d; // 2043-12-31 23:59:58
  return (
    (((year - 1980) << 25) |
      ((date.getUTCMonth() + 1) << 21) |
      (date.getUTCDate() << 16) |
      (date.getUTCHours() << 11) |
      (date.getUTCMinutes() << 5) |
      (date.getUTCSeconds() >> 1)) >>>
    0
  );
}

const needsZip64 = (n: number) => n >= ZIP64_MAGIC;

/**
 * The local header. With `descriptor` (a stream), CRC and sizes come after the data in a ZIP64
 * data descriptor (8-byte sizes, announced by a ZIP64 extra field here, APPNOTE 4.3.9.2): the
 * size is not known yet and may pass 4 GiB. Otherwise CRC and size are in the header, with a
 * ZIP64 extra field only for a size past 4 GiB.
 */
export function localHeader(entry: ZipEntryRecord): Buffer {
  const zip64 = entry.descriptor || needsZip64(entry.size);
  const extraLength = zip64 ? 20 : 0;
  const header = Buffer.allocUnsafe(30 + entry.name.length + extraLength);
  header.writeUInt32LE(SIG_LOCAL, 0);
  header.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_STORED, 4);
  header.writeUInt16LE((entry.descriptor ? FLAG_DESCRIPTOR : 0) | (entry.utf8 ? FLAG_UTF8 : 0), 6);
  header.writeUInt16LE(0, 8); // stored
  header.writeUInt32LE(entry.dosTime, 10);
  header.writeUInt32LE(entry.descriptor ? 0 : entry.crc, 14);
  const size32 = zip64 ? ZIP64_MAGIC : entry.size;
  header.writeUInt32LE(size32, 18);
  header.writeUInt32LE(size32, 22);
  header.writeUInt16LE(entry.name.length, 26);
  header.writeUInt16LE(extraLength, 28);
  entry.name.copy(header, 30);
  if (zip64) {
    const at = 30 + entry.name.length;
    header.writeUInt16LE(ZIP64_EXTRA_ID, at);
    header.writeUInt16LE(16, at + 2);
    const size = entry.descriptor ? 0 : entry.size;
    header.writeBigUInt64LE(BigInt(size), at + 4);
    header.writeBigUInt64LE(BigInt(size), at + 12);
  }
  return header;
}

/** The ZIP64 data descriptor that follows a streamed entry's data. */
export function dataDescriptor(crc: number, size: number): Buffer {
  const descriptor = Buffer.allocUnsafe(24);
  descriptor.writeUInt32LE(SIG_DESCRIPTOR, 0);
  descriptor.writeUInt32LE(crc, 4);
  descriptor.writeBigUInt64LE(BigInt(size), 8);
  descriptor.writeBigUInt64LE(BigInt(size), 16);
  return descriptor;
}

const centralLength = (entry: ZipEntryRecord) =>
  46 + entry.name.length + (needsZip64(entry.size) || needsZip64(entry.offset) ? 28 : 0);

/** The central directory (every entry) followed by the end records; `offset` is where it starts. */
export function centralDirectory(entries: ZipEntryRecord[], offset: number, forceZip64: boolean): Buffer {
  let length = 0;
  for (const entry of entries) length += centralLength(entry);
  const zip64 = forceZip64 || entries.length >= ZIP64_MAGIC_SHORT || needsZip64(offset) || needsZip64(length);
  const out = Buffer.allocUnsafe(length + (zip64 ? 56 + 20 : 0) + 22);
  let at = 0;
  for (const entry of entries) {
    const wide = needsZip64(entry.size) || needsZip64(entry.offset);
    out.writeUInt32LE(SIG_CENTRAL, at);
    out.writeUInt16LE(MADE_BY_UNIX_45, at + 4);
    // A streamed entry's local header announced ZIP64 (its descriptor has 8-byte sizes).
    out.writeUInt16LE(wide || entry.descriptor ? VERSION_ZIP64 : VERSION_STORED, at + 6);
    out.writeUInt16LE((entry.descriptor ? FLAG_DESCRIPTOR : 0) | (entry.utf8 ? FLAG_UTF8 : 0), at + 8);
    out.writeUInt16LE(0, at + 10);
    out.writeUInt32LE(entry.dosTime, at + 12);
    out.writeUInt32LE(entry.crc, at + 16);
    out.writeUInt32LE(wide ? ZIP64_MAGIC : entry.size, at + 20);
    out.writeUInt32LE(wide ? ZIP64_MAGIC : entry.size, at + 24);
    out.writeUInt16LE(entry.name.length, at + 28);
    out.writeUInt16LE(wide ? 28 : 0, at + 30);
    out.writeUInt16LE(0, at + 32); // comment
    out.writeUInt16LE(0, at + 34); // disk
    out.writeUInt16LE(0, at + 36); // internal attributes
    out.writeUInt32LE((((S_IFREG | (entry.mode & 0o7777)) << 16) | DOS_ARCHIVE) >>> 0, at + 38);
    out.writeUInt32LE(wide ? ZIP64_MAGIC : entry.offset, at + 42);
    entry.name.copy(out, at + 46);
    at += 46 + entry.name.length;
    if (wide) {
      out.writeUInt16LE(ZIP64_EXTRA_ID, at);
      out.writeUInt16LE(24, at + 2);
      out.writeBigUInt64LE(BigInt(entry.size), at + 4);
      out.writeBigUInt64LE(BigInt(entry.size), at + 12);
      out.writeBigUInt64LE(BigInt(entry.offset), at + 20);
      at += 28;
    }
  }
  if (zip64) {
    const zip64End = offset + length;
    out.writeUInt32LE(SIG_ZIP64_END, at);
    out.writeBigUInt64LE(44n, at + 4);
    out.writeUInt16LE(VERSION_ZIP64, at + 12);
    out.writeUInt16LE(VERSION_ZIP64, at + 14);
    out.writeUInt32LE(0, at + 16);
    out.writeUInt32LE(0, at + 20);
    out.writeBigUInt64LE(BigInt(entries.length), at + 24);
    out.writeBigUInt64LE(BigInt(entries.length), at + 32);
    out.writeBigUInt64LE(BigInt(length), at + 40);
    out.writeBigUInt64LE(BigInt(offset), at + 48);
    at += 56;
    out.writeUInt32LE(SIG_ZIP64_LOCATOR, at);
    out.writeUInt32LE(0, at + 4);
    out.writeBigUInt64LE(BigInt(zip64End), at + 8);
    out.writeUInt32LE(1, at + 16);
    at += 20;
  }
  out.writeUInt32LE(SIG_END, at);
  out.writeUInt16LE(0, at + 4);
  out.writeUInt16LE(0, at + 6);
  const count = zip64 ? ZIP64_MAGIC_SHORT : entries.length;
  out.writeUInt16LE(count, at + 8);
  out.writeUInt16LE(count, at + 10);
  out.writeUInt32LE(zip64 ? ZIP64_MAGIC : length, at + 12);
  out.writeUInt32LE(zip64 ? ZIP64_MAGIC : offset, at + 16);
  out.writeUInt16LE(0, at + 20); // comment
  return out;
}
