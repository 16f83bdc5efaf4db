import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptArchiveError,
  TargetError,
  UnsafeZipEntryError,
} from '../../../src-main/engine/target/errors';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { ZipWriter } from '../../../src-main/engine/target/zip-writer';
import { craftZip } from '../target/craft-zip';
import { tempDir } from '../target/fixtures';

/**
 * Issue 9, hostile archives for the zip reader (restore and verify read every archive through
 * it): zip bombs that lie about their size or reuse one entry's bytes under many names, archives
 * cut at any point, and lying directories. Zip-slip, absolute paths, links and devices are in
 * test/unit/target/zip.test.ts. Each is refused with a TargetError, in bounded time and memory,
 * writing nothing beyond what it refused.
 */
let dir: string;
beforeEach(() => {
  dir = tempDir('mv-zip-bad-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const CENTRAL = 0x02014b50;

/** Offsets of every central directory record of a zip. */
function centralRecords(zip: Buffer): number[] {
  const out: number[] = [];
  for (let i = zip.length - 22; i >= 0; i--)
    if (zip.readUInt32LE(i) === 0x06054b50) {
      let at = zip.readUInt32LE(i + 16);
      for (let n = 0; n < zip.readUInt16LE(i + 10); n++) {
        expect(zip.readUInt32LE(at)).toBe(CENTRAL);
        out.push(at);
        at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
      }
      return out;
    }
  throw new Error('no end of central directory');
}

describe('zip bombs', { timeout: 60_000 }, () => {
  it('an entry that inflates far beyond its declared size is stopped at that size', async () => {
    const zipPath = path.join(dir, 'bomb.zip');
    const writer = await ZipWriter.create(zipPath, { compression: 'deflate', level: 9 });
    await writer.addBuffer('mail.eml', Buffer.alloc(64 * 2 ** 20));
    await writer.finish();
    const zip = fs.readFileSync(zipPath);
    expect(zip.length).toBeLessThan(2 ** 20); // 64 MiB of zeros in well under 1 MiB
    const [record] = centralRecords(zip);
    zip.writeUInt32LE(1000, record! + 24); // the directory now says 1000 bytes
    fs.writeFileSync(zipPath, zip);
    const reader = await ZipReader.open(zipPath);
    try {
      expect(reader.entry('mail.eml')!.size).toBe(1000);
      const rssBefore = process.memoryUsage().rss;
      await expect(reader.readEntry('mail.eml')).rejects.toThrow(TargetError);
      await expect(reader.test()).rejects.toThrow(TargetError);
      const dest = path.join(dir, 'out');
      await expect(reader.extractAll(dest)).rejects.toThrow(TargetError);
      const written = fs.existsSync(path.join(dest, 'mail.eml'))
        ? fs.statSync(path.join(dest, 'mail.eml')).size
        : 0;
      expect(written).toBeLessThan(2 ** 20);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 * 2 ** 20);
    } finally {
      reader.close();
    }
  });

  it('entries sharing one local header under many names (an overlapping bomb) are refused at open', async () => {
    const data = zlib.deflateRawSync(Buffer.alloc(2 ** 20));
    const names = Array.from({ length: 50 }, (_, i) => `copy-${i}.eml`);
    const zip = craftZip(names.map((name) => ({ name, data: Buffer.from('x') })));
    // Point every central record at the first entry's local header.
    for (const at of centralRecords(zip)) zip.writeUInt32LE(0, at + 42);
    fs.writeFileSync(path.join(dir, 'overlap.zip'), zip);
    await expect(ZipReader.open(path.join(dir, 'overlap.zip'))).rejects.toThrow(UnsafeZipEntryError);
    await expect(ZipReader.open(path.join(dir, 'overlap.zip'))).rejects.toThrow(/overlaps another entry/);
    expect(data.length).toBeGreaterThan(0);
  });

  it('an entry whose data runs into the next local header is refused at open', async () => {
    const zip = craftZip([
      { name: 'a.eml', data: Buffer.from('a'.repeat(100)) },
      { name: 'b.eml', data: Buffer.from('b'.repeat(100)) },
    ]);
    const [first] = centralRecords(zip);
    zip.writeUInt32LE(150, first! + 20); // compressed size of a.eml now reaches into b.eml
    fs.writeFileSync(path.join(dir, 'into.zip'), zip);
    await expect(ZipReader.open(path.join(dir, 'into.zip'))).rejects.toThrow(TargetError);
  });

  it('archives the engine writes are not taken for bombs (many entries, deflate and store)', async () => {
    for (const compression of ['store', 'deflate'] as const) {
      const zipPath = path.join(dir, `ok-${compression}.zip`);
      const writer = await ZipWriter.create(zipPath, { compression });
      for (let i = 0; i < 300; i++) await writer.addBuffer(`m/${i}.eml`, `message ${i}\n`.repeat(i % 7));
      await writer.finish();
      const reader = await ZipReader.open(zipPath);
      expect((await reader.test()).entries).toBe(300);
      reader.close();
    }
  });
});

describe('deflate archives of compressible mail', { timeout: 60_000 }, () => {
  it('finish without hanging (adds once waited for the file to catch up with uncompressed bytes)', async () => {
    const source = path.join(dir, 'big.eml');
    fs.writeFileSync(source, `Subject: s\r\n\r\n${'the same line again\r\n'.repeat(2000)}`);
    const zipPath = path.join(dir, 'mail.zip');
    const writer = await ZipWriter.create(zipPath, { compression: 'deflate' });
    for (let i = 0; i < 200; i++)
      await writer.addBuffer(`m/${i}.eml`, `Subject: ${i}\r\n\r\n${'text '.repeat(4000)}`);
    for (let i = 0; i < 20; i++) await writer.addFile(`f/${i}.eml`, source);
    await writer.finish();
    const reader = await ZipReader.open(zipPath);
    expect((await reader.test()).entries).toBe(220);
    reader.close();
    expect(fs.statSync(zipPath).size).toBeLessThan((200 * 20_000) / 10);
  }, 20_000);
});

describe('cut and lying archives', { timeout: 60_000 }, () => {
  it('an archive cut at any of 25 points is refused, never read as a shorter one', async () => {
    const zipPath = path.join(dir, 'whole.zip');
    const writer = await ZipWriter.create(zipPath, { compression: 'deflate' });
    for (let i = 0; i < 5; i++)
      await writer.addBuffer(`m/${i}.eml`, `Subject: ${i}\r\n\r\n${'body '.repeat(500)}`);
    await writer.finish();
    const whole = fs.readFileSync(zipPath);
    for (let i = 0; i < 25; i++) {
      const cut = path.join(dir, `cut-${i}.zip`);
      fs.writeFileSync(cut, whole.subarray(0, Math.floor((i / 25) * whole.length)));
      await expect(ZipReader.open(cut), `cut at ${i}/25`).rejects.toThrow(CorruptArchiveError);
    }
  });

  it('a directory that claims 65535 entries in a tiny file is refused quickly', async () => {
    const zip = craftZip([{ name: 'a.eml', data: Buffer.from('a') }]);
    const end = zip.length - 22;
    zip.writeUInt16LE(0xffff, end + 8);
    zip.writeUInt16LE(0xffff, end + 10);
    fs.writeFileSync(path.join(dir, 'lying.zip'), zip);
    const started = Date.now();
    await expect(ZipReader.open(path.join(dir, 'lying.zip'))).rejects.toThrow(CorruptArchiveError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('random bytes, an empty file and a directory are refused as archives', async () => {
    fs.writeFileSync(
      path.join(dir, 'random.zip'),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) & 0xff)),
    );
    fs.writeFileSync(path.join(dir, 'empty.zip'), '');
    fs.mkdirSync(path.join(dir, 'dir.zip'));
    for (const name of ['random.zip', 'empty.zip', 'dir.zip'])
      await expect(ZipReader.open(path.join(dir, name)), name).rejects.toThrow();
  });
});
