import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addFiles, openArchiveWriter } from '../../../src-main/engine/target/archive';
import {
  CorruptArchiveError,
  UnsafePathError,
  UnsafeZipEntryError,
} from '../../../src-main/engine/target/errors';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { ZipWriter } from '../../../src-main/engine/target/zip-writer';
import { craftZip } from './craft-zip';
import { tempDir } from './fixtures';

const sha256 = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');
const unzipTest = (zip: string): { ok: boolean; output: string } => {
  const run = spawnSync('unzip', ['-t', zip], { encoding: 'utf8' });
  return { ok: run.status === 0, output: run.stdout + run.stderr };
};

let dir: string;
beforeEach(() => {
  dir = tempDir('mv-zip-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A few entries of each kind: text, a 3 MiB random stream, an on-disk file (large and small). */
async function fillArchive(base: string, mode: 'store' | 'deflate' | 'none'): Promise<Map<string, Buffer>> {
  const expected = new Map<string, Buffer>();
  const big = crypto.randomBytes(3 << 20);
  const source = path.join(dir, 'source.bin');
  fs.writeFileSync(source, big);
  fs.writeFileSync(path.join(dir, 'small.txt'), 'small file\n'.repeat(100));
  const writer = await openArchiveWriter(base, mode);
  await writer.addBuffer('0/260-110.msg', 'Subject: hello\r\n\r\nbody\r\n');
  expected.set('0/260-110.msg', Buffer.from('Subject: hello\r\n\r\nbody\r\n'));
  await writer.addStream('1/stream.bin', Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]));
  expected.set('1/stream.bin', big);
  await writer.addFile('2/file.bin', source);
  expected.set('2/file.bin', big);
  await Promise.all([
    writer.addFile('3/small.txt', path.join(dir, 'small.txt')),
    writer.addBuffer('empty', Buffer.alloc(0)),
  ]);
  expected.set('3/small.txt', fs.readFileSync(path.join(dir, 'small.txt')));
  expected.set('empty', Buffer.alloc(0));
  const result = await writer.finish();
  expect(result.entries).toBe(5);
  for (const [file, record] of Object.entries(result.files)) {
    const onDisk = fs.readFileSync(path.join(path.dirname(base), file));
    expect(record).toEqual({ bytes: onDisk.length, sha256: sha256(onDisk) });
  }
  expect(result.bytes).toBe(Object.values(result.files).reduce((n, r) => n + r.bytes, 0));
  return expected;
}

describe('ZipWriter and ZipReader', () => {
  it.each(['store', 'deflate'] as const)('round-trips a %s zip that unzip -t accepts', async (mode) => {
    const base = path.join(dir, 'out', 'blobs');
    const expected = await fillArchive(base, mode);
    const zip = `${base}.zip`;
    expect(unzipTest(zip)).toMatchObject({ ok: true });
    const reader = await ZipReader.open(zip);
    try {
      expect(reader.entries.map((e) => e.name).sort()).toEqual([...expected.keys()].sort());
      for (const [name, data] of expected) expect(sha256(await reader.readEntry(name))).toBe(sha256(data));
      const text = reader.entry('3/small.txt')!;
      if (mode === 'store') expect(text.compressedSize).toBe(text.size);
      else expect(text.compressedSize).toBeLessThan(text.size / 10);
      expect(await reader.test()).toEqual({
        entries: 5,
        bytes: [...expected.values()].reduce((n, b) => n + b.length, 0),
      });
      const out = path.join(dir, 'extracted');
      await reader.extractAll(out);
      for (const [name, data] of expected)
        expect(sha256(fs.readFileSync(path.join(out, name)))).toBe(sha256(data));
    } finally {
      reader.close();
    }
    // The system unzip extracts the same bytes.
    execFileSync('unzip', ['-q', zip, '-d', path.join(dir, 'by-unzip')]);
    for (const [name, data] of expected)
      expect(fs.readFileSync(path.join(dir, 'by-unzip', name)).equals(data)).toBe(true);
  });

  it('writes plain files with --noZip behind the same interface', async () => {
    const base = path.join(dir, 'out', 'index');
    const expected = await fillArchive(base, 'none');
    for (const [name, data] of expected)
      expect(fs.readFileSync(path.join(base, name)).equals(data)).toBe(true);
    expect(fs.existsSync(`${base}.zip`)).toBe(false);
  });

  it('writes ZIP64 records on request, and unzip and ZipReader still read the archive', async () => {
    const writer = await ZipWriter.create(path.join(dir, 'z64.zip'), { forceZip64: true });
    await writer.addBuffer('a.txt', 'a');
    await writer.finish();
    const bytes = fs.readFileSync(path.join(dir, 'z64.zip'));
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // ZIP64 end of central directory
    expect(unzipTest(path.join(dir, 'z64.zip')).ok).toBe(true);
    const reader = await ZipReader.open(path.join(dir, 'z64.zip'));
    expect((await reader.readEntry('a.txt')).toString()).toBe('a');
    reader.close();
  });

  it('refuses unsafe or duplicate entry names when writing', async () => {
    for (const mode of ['store', 'none'] as const) {
      const writer = await openArchiveWriter(path.join(dir, `names-${mode}`), mode);
      for (const name of ['../x', '/etc/passwd', 'a/../../x', 'a\\b', 'C:/x', 'a\u0000', '']) {
        await expect(writer.addBuffer(name, 'x')).rejects.toThrow(UnsafePathError);
      }
      await writer.addBuffer('same', 'x');
      await expect(writer.addBuffer('same', 'y')).rejects.toThrow(UnsafePathError);
      await writer.finish();
    }
  });

  it('resolves an add only once the file has caught up, so memory stays bounded on a slow disk', async () => {
    const writer = await ZipWriter.create(path.join(dir, 'paced.zip'));
    const chunk = crypto.randomBytes(1 << 20);
    const backlogs: number[] = [];
    // All at once: each add resolves only when what was handed over before it is mostly on disk.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        writer
          .addBuffer(`${i}.bin`, chunk)
          .then(() => backlogs.push((i + 1) * chunk.length - writer.bytesWritten)),
      ),
    );
    expect(Math.max(...backlogs)).toBeLessThanOrEqual(0);
    expect((await writer.finish()).entries).toBe(40);
  });

  it('adds many files with addFiles, and reports the first file it cannot read', async () => {
    const source = path.join(dir, 'blobs');
    fs.mkdirSync(source);
    const files = Array.from({ length: 300 }, (_, i) => ({
      name: `0/${i}-1.msg`,
      path: path.join(source, `${i}.msg`),
    }));
    for (const [i, file] of files.entries()) fs.writeFileSync(file.path, `message ${i}\n`);
    const writer = await openArchiveWriter(path.join(dir, 'many'), 'store');
    await addFiles(writer, files, 16);
    expect((await writer.finish()).entries).toBe(300);
    const reader = await ZipReader.open(path.join(dir, 'many.zip'));
    expect((await reader.readEntry('0/299-1.msg')).toString()).toBe('message 299\n');
    reader.close();

    const broken = await openArchiveWriter(path.join(dir, 'broken'), 'none');
    await expect(
      addFiles(broken, [...files, { name: 'missing', path: path.join(source, 'nope') }], 16),
    ).rejects.toThrow(/ENOENT/);
    await broken.abort();
  });

  it('removes the partial archive when aborted', async () => {
    const writer = await openArchiveWriter(path.join(dir, 'gone'), 'store');
    await writer.addBuffer('a', 'a');
    await writer.abort();
    expect(fs.existsSync(path.join(dir, 'gone.zip'))).toBe(false);
  });

  it('fails an entry whose data does not match its CRC-32', async () => {
    const zip = path.join(dir, 'crc.zip');
    const payload = Buffer.from('PAYLOAD-'.repeat(64));
    const writer = await ZipWriter.create(zip);
    await writer.addBuffer('victim.txt', payload);
    await writer.finish();
    const bytes = fs.readFileSync(zip);
    const at = bytes.indexOf(payload) + 10;
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(zip, bytes);
    expect(unzipTest(zip).ok).toBe(false);
    const reader = await ZipReader.open(zip);
    await expect(reader.readEntry('victim.txt')).rejects.toThrow(CorruptArchiveError);
    await expect(reader.test()).rejects.toThrow(/CRC-32/);
    reader.close();
  });

  it('refuses a truncated archive', async () => {
    const zip = path.join(dir, 'cut.zip');
    const writer = await ZipWriter.create(zip);
    await writer.addBuffer('a.txt', 'a'.repeat(1000));
    await writer.finish();
    fs.truncateSync(zip, fs.statSync(zip).size - 30);
    await expect(ZipReader.open(zip)).rejects.toThrow(CorruptArchiveError);
  });
});

describe('zip-slip', () => {
  const evilNames = [
    '../evil.txt',
    'a/../../evil.txt',
    '/tmp/evil.txt',
    '..\\evil.txt',
    'a\\..\\..\\evil.txt',
    'C:/evil.txt',
    'a/\u0000/evil.txt',
    './evil.txt',
    'a//evil.txt',
  ];

  it.each(evilNames)('refuses an archive with the entry %j, and writes nothing outside', async (name) => {
    const zip = path.join(dir, 'evil.zip');
    fs.writeFileSync(
      zip,
      craftZip([
        { name: 'fine.txt', data: Buffer.from('ok') },
        { name, data: Buffer.from('pwned') },
      ]),
    );
    const dest = path.join(dir, 'sub', 'dest');
    await expect(ZipReader.open(zip)).rejects.toThrow(UnsafeZipEntryError);
    expect(fs.existsSync(path.join(dir, 'sub', 'evil.txt'))).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('refuses the same trick made by archiver itself (it keeps inner ".." segments)', async () => {
    const { default: archiverFactory } = (await import('archiver')) as unknown as {
      default: (f: string, o: object) => import('archiver').Archiver;
    };
    const zip = path.join(dir, 'archiver-evil.zip');
    const archive = archiverFactory('zip', { store: true });
    const out = fs.createWriteStream(zip);
    archive.pipe(out);
    archive.append('pwned', { name: 'a/../../evil.txt' });
    await archive.finalize();
    await new Promise<void>((resolve) => out.on('close', () => resolve()));
    await expect(ZipReader.open(zip)).rejects.toThrow(/"\.\." segment/);
  });

  it('refuses symbolic links, FIFOs and devices, and duplicate names', async () => {
    const cases = [
      [{ name: 'link', data: Buffer.from('/etc'), unixMode: 0o120777 }],
      [
        { name: 'x', data: Buffer.from('1') },
        { name: 'x', data: Buffer.from('2') },
      ],
      [{ name: 'fifo', unixMode: 0o010644 }],
    ];
    for (const entries of cases) {
      const zip = path.join(dir, 'odd.zip');
      fs.writeFileSync(zip, craftZip(entries));
      await expect(ZipReader.open(zip)).rejects.toThrow(UnsafeZipEntryError);
    }
  });

  it('does not follow a symbolic link already in the destination', async () => {
    const outside = path.join(dir, 'outside');
    const dest = path.join(dir, 'dest');
    fs.mkdirSync(outside);
    fs.mkdirSync(dest);
    fs.symlinkSync(outside, path.join(dest, 'link'));
    const zip = path.join(dir, 'via-link.zip');
    fs.writeFileSync(zip, craftZip([{ name: 'link/evil.txt', data: Buffer.from('pwned') }]));
    const reader = await ZipReader.open(zip);
    await expect(reader.extractAll(dest)).rejects.toThrow(UnsafeZipEntryError);
    reader.close();
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});
