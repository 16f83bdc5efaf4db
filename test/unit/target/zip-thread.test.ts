import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoredZipWriter } from '../../../src-main/engine/target/stored-zip-writer';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { openThreadedZipWriter, type ThreadedZipWriter } from '../../../src-main/engine/target/zip-thread';
import { TransportError } from '../../../src-main/engine/transport/types';
import { tempDir } from './fixtures';

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

let dir: string;
beforeEach(() => {
  dir = tempDir('mv-zip-thread-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Files under dir/src with their listing (size, mtime), as a walk gives them. */
function makeFiles(spec: Record<string, Buffer>) {
  const root = path.join(dir, 'src');
  const listed = Object.entries(spec).map(([rel, data]) => {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, data);
    const st = fs.statSync(full);
    return { path: rel, size: st.size, mtimeMs: st.mtimeMs };
  });
  return { root, listed };
}

async function threaded(name: string): Promise<ThreadedZipWriter> {
  const writer = await openThreadedZipWriter(path.join(dir, name));
  if (!writer) throw new Error('no archive thread in the source tree');
  return writer;
}

describe('archives built on the archive thread', () => {
  it('writes the same bytes as StoredZipWriter for the same entries, unzip -t and ZipReader agree', async () => {
    const spec: Record<string, Buffer> = {
      'a/1-1.msg': crypto.randomBytes(20_000),
      'a/2-1.msg': Buffer.alloc(0),
      'b/3-1.msg': crypto.randomBytes(1 << 20), // exactly the whole-read limit
      'b/4-1.msg': crypto.randomBytes((1 << 20) + 17), // streamed from its fstat
      'b/é-1.msg': Buffer.from('utf-8 name\r\n'),
    };
    const { root, listed } = makeFiles(spec);
    const writer = await threaded('t');
    const result = await writer.addListed(root, '1/', listed, 'test');
    expect(result.sizes).toEqual(listed.map((f) => f.size));
    expect(result.mtimes).toEqual(listed.map((f) => f.mtimeMs));
    await writer.addBuffer('late.msg', Buffer.from('late'), { mtime: new Date(1_700_000_000_000) });
    const finished = await writer.finish();

    // The main-thread writer, given the same entries: a listed file is stored with its mtime and
    // mode 0644; one past the whole-read limit as a streamed entry.
    const reference = await StoredZipWriter.create(path.join(dir, 'r.zip'));
    for (const file of listed) {
      const data = spec[file.path]!;
      const options = { mtime: new Date(file.mtimeMs) };
      if (data.length > 1 << 20) await reference.addStream(`1/${file.path}`, Readable.from([data]), options);
      else await reference.addBuffer(`1/${file.path}`, data, options);
    }
    await reference.addBuffer('late.msg', Buffer.from('late'), { mtime: new Date(1_700_000_000_000) });
    const expected = await reference.finish();

    const zip = path.join(dir, 't.zip');
    expect(fs.readFileSync(zip).equals(fs.readFileSync(path.join(dir, 'r.zip')))).toBe(true);
    expect(finished.files['t.zip']).toEqual({
      bytes: fs.statSync(zip).size,
      sha256: sha256(fs.readFileSync(zip)),
    });
    expect(finished.files['t.zip']!.sha256).toBe(expected.files['r.zip']!.sha256);
    expect(finished.entries).toBe(6);
    expect(spawnSync('unzip', ['-tq', zip]).status).toBe(0);
    const reader = await ZipReader.open(zip);
    try {
      for (const [rel, data] of Object.entries(spec))
        expect((await reader.readEntry(`1/${rel}`)).equals(data)).toBe(true);
    } finally {
      reader.close();
    }
  });

  it('stores received buffers and streams (SSH) with the same bytes as StoredZipWriter, across batches', async () => {
    // Views into one larger buffer, as the tar splitter hands blobs over; enough to fill several
    // 1 MiB batches; one buffer larger than a batch; one stream that spans several parts.
    const slab = crypto.randomBytes(3 << 20);
    const small = Array.from({ length: 150 }, (_, i) => ({
      name: `1/0/${i}-1.msg`,
      data: slab.subarray(i * 20_000, i * 20_000 + 19_000 + i),
      mtime: new Date(1_700_000_000_000 + i * 1000),
    }));
    const big = crypto.randomBytes((1 << 20) + 5);
    const streamed = [crypto.randomBytes(700_000), crypto.randomBytes(900_000), crypto.randomBytes(3)];
    const build = async (writer: {
      addBuffer: (n: string, d: Buffer, o: { mtime: Date }) => Promise<void>;
      addStream: (n: string, s: Readable, o: { mtime: Date }) => Promise<void>;
      addParts?: (n: string, p: Buffer[], o: { mtime: Date }) => Promise<void>;
    }) => {
      // The threaded writer gets every other blob in pieces, as a file spanning SSH packets comes.
      for (const [i, file] of small.slice(0, 100).entries()) {
        const cuts = [0, 1 + (i % 7), 5_000 + i, file.data.length];
        if (writer.addParts && i % 2 === 1)
          await writer.addParts(
            file.name,
            cuts.slice(1).map((end, j) => file.data.subarray(cuts[j], end)),
            {
              mtime: file.mtime,
            },
          );
        else await writer.addBuffer(file.name, file.data, { mtime: file.mtime });
      }
      await writer.addBuffer('big.bin', big, { mtime: new Date(1_700_000_500_000) });
      await writer.addStream('segment.cfs', Readable.from(streamed), { mtime: new Date(1_700_000_600_000) });
      for (const file of small.slice(100))
        await writer.addBuffer(file.name, file.data, { mtime: file.mtime });
    };
    const writer = await threaded('t');
    await build(writer);
    const finished = await writer.finish();
    const reference = await StoredZipWriter.create(path.join(dir, 'r.zip'));
    await build(reference);
    const expected = await reference.finish();

    const zip = path.join(dir, 't.zip');
    expect(fs.readFileSync(zip).equals(fs.readFileSync(path.join(dir, 'r.zip')))).toBe(true);
    expect(finished.files['t.zip']!.sha256).toBe(sha256(fs.readFileSync(zip)));
    expect(finished.files['t.zip']!.sha256).toBe(expected.files['r.zip']!.sha256);
    expect(finished.entries).toBe(152);
    expect(spawnSync('unzip', ['-tq', zip]).status).toBe(0);
    const reader = await ZipReader.open(zip);
    try {
      expect((await reader.readEntry('segment.cfs')).equals(Buffer.concat(streamed))).toBe(true);
      expect((await reader.readEntry('1/0/149-1.msg')).equals(small[149]!.data)).toBe(true);
    } finally {
      reader.close();
    }
    // The caller's buffers are untouched (copied, not transferred away).
    expect(small[0]!.data.length).toBe(19_000);
  });

  it('reports a failure on the thread by a later add or by finish, and removes the archive', async () => {
    const writer = await threaded('t');
    await writer.addBuffer('same.msg', Buffer.from('one'));
    await writer.addBuffer('same.msg', Buffer.from('two')); // only gathered so far
    const failure = await writer.finish().catch((e: unknown) => e);
    expect(String(failure)).toMatch(/same\.msg.*already in/);
    expect(fs.existsSync(path.join(dir, 't.zip'))).toBe(false);
    await writer.abort();
  });

  it('skips a file gone since the listing and reads one that changed size by its fstat', async () => {
    const { root, listed } = makeFiles({ 'gone.msg': Buffer.from('x'), 'grew.msg': Buffer.from('short') });
    fs.rmSync(path.join(root, 'gone.msg'));
    fs.writeFileSync(path.join(root, 'grew.msg'), 'a longer body now');
    const writer = await threaded('t');
    const result = await writer.addListed(root, '', listed, 'test');
    expect(result.sizes).toEqual([-1, 'a longer body now'.length]);
    expect(result.mtimes[1]).toBe(fs.statSync(path.join(root, 'grew.msg')).mtimeMs);
    await writer.finish();
    const reader = await ZipReader.open(path.join(dir, 't.zip'));
    try {
      expect(reader.entries.map((e) => e.name)).toEqual(['grew.msg']);
      expect((await reader.readEntry('grew.msg')).toString()).toBe('a longer body now');
    } finally {
      reader.close();
    }
  });

  it('reports a file it cannot open as the transport would, naming it; a refused name fails the archive', async () => {
    const { root, listed } = makeFiles({ 'ok.msg': Buffer.from('fine') });
    fs.mkdirSync(path.join(root, 'dir.msg'));
    fs.symlinkSync('loop.msg', path.join(root, 'loop.msg')); // open: ELOOP, even for root
    const writer = await threaded('t');
    // A directory where the listing saw a file is skipped (no longer a regular file), not an error.
    expect(
      (await writer.addListed(root, '', [{ path: 'dir.msg', size: 4, mtimeMs: 0 }], 'test')).sizes,
    ).toEqual([-1]);
    const failure = await writer
      .addListed(root, '', [{ path: 'loop.msg', size: 1, mtimeMs: 0 }], 'server1')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TransportError);
    expect((failure as Error).message).toMatch(/^server1: cannot open .*loop\.msg: ELOOP/);
    // The archive failed with it: removed, and every later call gets the same error.
    expect(fs.existsSync(path.join(dir, 't.zip'))).toBe(false);
    expect(String(await writer.addListed(root, '', listed, 'server1').catch((e: unknown) => e))).toMatch(
      /ELOOP/,
    );
    await writer.abort();

    const second = await threaded('u');
    await second.addListed(root, '', listed, 'server1');
    const duplicate = await second.addListed(root, '', listed, 'server1').catch((e: unknown) => e);
    expect(String(duplicate)).toMatch(/ok\.msg.*already in/);
    expect((duplicate as { code?: string }).code).toBe('UNSAFE_PATH');
    await second.abort();
    expect(fs.existsSync(path.join(dir, 'u.zip'))).toBe(false);
  });

  it('carries the errno code of a failure on the thread', async () => {
    fs.writeFileSync(path.join(dir, 'taken.zip'), '');
    // 'wx': an archive never overwrites a file.
    const failure = await openThreadedZipWriter(path.join(dir, 'taken')).catch((e: unknown) => e);
    expect((failure as { code?: string }).code).toBe('EEXIST');
  });

  it('writes ZIP64 records on request', async () => {
    const writer = await openThreadedZipWriter(path.join(dir, 'z'), { forceZip64: true });
    await writer!.addBuffer('a', Buffer.from('zip64'));
    await writer!.finish();
    expect(spawnSync('unzip', ['-tq', path.join(dir, 'z.zip')]).status).toBe(0);
    const reader = await ZipReader.open(path.join(dir, 'z.zip'));
    try {
      expect((await reader.readEntry('a')).toString()).toBe('zip64');
    } finally {
      reader.close();
    }
  });
});
