import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openArchiveWriter } from '../../../src-main/engine/target/archive';
import { CorruptArchiveError } from '../../../src-main/engine/target/errors';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { craftZip } from './craft-zip';
import { tempDir } from './fixtures';

/**
 * ZipReader.readEntry reads stored entries without a stream (local header and data from 1 MiB
 * blocks). These cases check what that path must still do as the stream path did: refuse a wrong
 * CRC-32 naming the entry, find data past 4 GiB through ZIP64 records, read an entry that ends at
 * the end of the file or crosses a block, and hand back bytes that later reads do not change.
 */
let dir: string;
beforeEach(() => {
  dir = tempDir('mv-zip-stored-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

/** A local header (stored, UTF-8 name, no extra field) and its data. */
function localEntry(name: Buffer, data: Buffer): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(45, 4);
  header.writeUInt16LE(0x800, 6);
  header.writeUInt32LE(0x00210000, 10);
  header.writeUInt32LE(zlib.crc32(data) >>> 0, 14);
  header.writeUInt32LE(data.length, 18);
  header.writeUInt32LE(data.length, 22);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, name, data]);
}

/** A central directory record whose local header offset is in a ZIP64 extra field. */
function zip64CentralRecord(name: Buffer, data: Buffer, offset: number): Buffer {
  const extra = Buffer.alloc(12);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8, 2);
  extra.writeBigUInt64LE(BigInt(offset), 4);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 45, 4);
  central.writeUInt16LE(45, 6);
  central.writeUInt16LE(0x800, 8);
  central.writeUInt32LE(0x00210000, 12);
  central.writeUInt32LE(zlib.crc32(data) >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(extra.length, 30);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  central.writeUInt32LE(0xffffffff, 42);
  return Buffer.concat([central, name, extra]);
}

/** ZIP64 end of central directory record, its locator, and the classic record pointing at them. */
function zip64End(entries: number, directoryBytes: number, directoryAt: number, recordAt: number): Buffer {
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE((3 << 8) | 45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(entries), 24);
  record.writeBigUInt64LE(BigInt(entries), 32);
  record.writeBigUInt64LE(BigInt(directoryBytes), 40);
  record.writeBigUInt64LE(BigInt(directoryAt), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(recordAt), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([record, locator, end]);
}

describe('ZipReader: stored entries read without a stream', () => {
  it('refuses an entry whose data does not match its CRC-32, naming it, and still reads the others', async () => {
    const good = Buffer.from('good message\r\n');
    const bad = Buffer.from('this body was changed after it was stored\r\n');
    const zip = path.join(dir, 'crc.zip');
    fs.writeFileSync(
      zip,
      craftZip([
        { name: '1/good.msg', data: good },
        { name: '1/bad.msg', data: bad, crc32: (zlib.crc32(bad) ^ 1) >>> 0 },
      ]),
    );
    const reader = await ZipReader.open(zip);
    try {
      await expect(reader.readEntry('1/bad.msg')).rejects.toThrow(CorruptArchiveError);
      await expect(reader.readEntry('1/bad.msg')).rejects.toThrow(/1\/bad\.msg: CRC-32 is/);
      expect(await reader.readEntry('1/good.msg')).toEqual(good);
    } finally {
      reader.close();
    }
  });

  it('refuses an entry whose local header was overwritten, or whose data runs past the archive', async () => {
    const data = Buffer.from('x'.repeat(100));
    const bytes = craftZip([{ name: 'a.msg', data }]);
    const noHeader = Buffer.from(bytes);
    noHeader.writeUInt32LE(0x12345678, 0);
    fs.writeFileSync(path.join(dir, 'sig.zip'), noHeader);
    const longExtra = Buffer.from(bytes);
    longExtra.writeUInt16LE(0xfff0, 28); // the local extra field now reaches past the end
    fs.writeFileSync(path.join(dir, 'extra.zip'), longExtra);
    for (const [file, message] of [
      ['sig.zip', /a\.msg: invalid local header signature/],
      ['extra.zip', /a\.msg: its data overflows the archive/],
    ] as const) {
      const reader = await ZipReader.open(path.join(dir, file));
      try {
        await expect(reader.readEntry('a.msg')).rejects.toThrow(message);
      } finally {
        reader.close();
      }
    }
  });

  it('reads an entry whose local header lies past 4 GiB (ZIP64 offsets, a sparse file) and ends at the central directory', async () => {
    const zip = path.join(dir, 'far.zip');
    const firstName = Buffer.from('0/first.msg');
    const first = Buffer.from('first\n');
    const farName = Buffer.from('1/far.msg');
    const far = crypto.randomBytes(70_000);
    const farAt = 2 ** 32 + 2 ** 29 + 7;
    const fd = fs.openSync(zip, 'w');
    try {
      const firstLocal = localEntry(firstName, first);
      fs.writeSync(fd, firstLocal, 0, firstLocal.length, 0);
      const farLocal = localEntry(farName, far);
      fs.writeSync(fd, farLocal, 0, farLocal.length, farAt);
      const directoryAt = farAt + farLocal.length;
      const directory = Buffer.concat([
        zip64CentralRecord(firstName, first, 0),
        zip64CentralRecord(farName, far, farAt),
      ]);
      const tail = Buffer.concat([
        directory,
        zip64End(2, directory.length, directoryAt, directoryAt + directory.length),
      ]);
      fs.writeSync(fd, tail, 0, tail.length, directoryAt);
    } finally {
      fs.closeSync(fd);
    }
    const reader = await ZipReader.open(zip);
    try {
      expect(sha(await reader.readEntry('1/far.msg'))).toBe(sha(far));
      expect(await reader.readEntry('0/first.msg')).toEqual(first);
      // The stream path (what test() uses) agrees.
      expect(await reader.test()).toEqual({ entries: 2, bytes: first.length + far.length });
    } finally {
      reader.close();
    }
  });

  it('reads entries in any order, across 1 MiB blocks and larger than one, and a returned buffer keeps its bytes', async () => {
    const base = path.join(dir, 'blobs');
    const writer = await openArchiveWriter(base, 'store');
    const expected = new Map<string, Buffer>();
    // Sizes that make entries straddle block edges, one bigger than a block, and an empty one.
    const sizes = [300_000, 700_001, 50, 2_500_000, 0, 1_048_576, 123_457, 20_000, 20_000, 999_999];
    for (const [i, size] of sizes.entries()) {
      const data = crypto.randomBytes(size);
      expected.set(`${i % 3}/${i}-1.msg`, data);
      await writer.addBuffer(`${i % 3}/${i}-1.msg`, data);
    }
    await writer.finish();
    const reader = await ZipReader.open(`${base}.zip`);
    try {
      const names = [...expected.keys()];
      const firstRead = await reader.readEntry(names[0]!);
      const digestOfFirst = sha(firstRead);
      for (const name of [...names].reverse()) expect(sha(await reader.readEntry(name)), name).toBe(sha(expected.get(name)!));
      const together = await Promise.all(names.map((name) => reader.readEntry(name)));
      together.forEach((data, i) => expect(sha(data), names[i]).toBe(sha(expected.get(names[i]!)!)));
      // Read before every other entry: still its own bytes.
      expect(sha(firstRead)).toBe(digestOfFirst);
      expect(digestOfFirst).toBe(sha(expected.get(names[0]!)!));
    } finally {
      reader.close();
    }
  });
});
