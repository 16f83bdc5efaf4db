import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobThread } from '../../../src-main/engine/replay/blob-thread';
import { blobDigest } from '../../../src-main/engine/server/blob-digest';

/**
 * The blob thread writes each file handed to it (its folder made as needed, made again when
 * removed since), settles each write on its own (a failed one rejects with the file's error),
 * and drops a write not yet sent to it.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-blob-thread-'));
  dirs.push(dir);
  return dir;
};

describe('BlobThread', () => {
  it('writes the bytes of each file, views of a larger buffer included, folders made as needed', async () => {
    const root = tmp();
    const thread = new BlobThread();
    // Bodies are views of the redo reader's window: only each view's bytes may land in its file.
    const window = Buffer.from('xxHELLOyyWORLDzz');
    const a = thread.write(path.join(root, 'm1/msg/0/257-3.msg'), window.subarray(2, 7));
    const b = thread.write(path.join(root, 'm2/msg/0/258-4.msg'), window.subarray(9, 14));
    const empty = thread.write(path.join(root, 'm2/msg/0/259-4.msg'), Buffer.alloc(0));
    await Promise.all([a.done, b.done, empty.done]);
    expect(fs.readFileSync(path.join(root, 'm1/msg/0/257-3.msg'), 'utf8')).toBe('HELLO');
    expect(fs.readFileSync(path.join(root, 'm2/msg/0/258-4.msg'), 'utf8')).toBe('WORLD');
    expect(fs.readFileSync(path.join(root, 'm2/msg/0/259-4.msg')).length).toBe(0);
    // The folder removed (a restore replaced it): made again for the next file.
    fs.rmSync(path.join(root, 'm1'), { recursive: true });
    await thread.write(path.join(root, 'm1/msg/0/260-5.msg'), Buffer.from('again')).done;
    expect(fs.readFileSync(path.join(root, 'm1/msg/0/260-5.msg'), 'utf8')).toBe('again');
  });

  it('carries later batches in the buffers it gets back: each file gets only its own bytes', async () => {
    const root = tmp();
    const thread = new BlobThread();
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 'a');
    await Promise.all([
      thread.write(path.join(root, 'big1.msg'), big).done,
      thread.write(path.join(root, 'big2.msg'), big.subarray(7)).done,
    ]);
    // The next batches go in the buffer that carried the first (the spare, not a new one).
    await thread.write(path.join(root, 'small.msg'), Buffer.from('HELLO')).done;
    await Promise.all([
      thread.write(path.join(root, 'two-a.msg'), Buffer.from('one')).done,
      thread.write(path.join(root, 'two-b.msg'), Buffer.alloc(0)).done,
      thread.write(path.join(root, 'two-c.msg'), Buffer.from('three')).done,
    ]);
    expect(fs.readFileSync(path.join(root, 'big1.msg')).equals(big)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'big2.msg')).equals(big.subarray(7))).toBe(true);
    expect(fs.readFileSync(path.join(root, 'small.msg'), 'utf8')).toBe('HELLO');
    expect(fs.readFileSync(path.join(root, 'two-a.msg'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(root, 'two-b.msg')).length).toBe(0);
    expect(fs.readFileSync(path.join(root, 'two-c.msg'), 'utf8')).toBe('three');
  });

  it('rejects a failed write with its error and writes the others of its batch', async () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'file'), 'not a folder');
    const thread = new BlobThread();
    const bad = thread.write(path.join(root, 'file/msg/0/1-1.msg'), Buffer.from('x'));
    const good = thread.write(path.join(root, 'ok/1-1.msg'), Buffer.from('y'));
    await expect(bad.done).rejects.toMatchObject({ code: 'ENOTDIR' });
    await good.done;
    expect(fs.readFileSync(path.join(root, 'ok/1-1.msg'), 'utf8')).toBe('y');
  });

  it('checks a body against its digest where it writes it: a mismatch fails the write and writes nothing', async () => {
    const root = tmp();
    const thread = new BlobThread();
    const window = Buffer.from('xxHELLOyyWORLDzz');
    const hello = window.subarray(2, 7);
    const good = thread.write(path.join(root, 'good.msg'), hello, blobDigest(hello));
    const bad = thread.write(path.join(root, 'bad.msg'), window.subarray(9, 14), blobDigest(hello));
    const unchecked = thread.write(path.join(root, 'unchecked.msg'), Buffer.from('any'));
    await good.done;
    await unchecked.done;
    await expect(bad.done).rejects.toMatchObject({ code: 'EDIGEST' });
    expect(fs.readdirSync(root).sort()).toEqual(['good.msg', 'unchecked.msg']);
    expect(fs.readFileSync(path.join(root, 'good.msg'), 'utf8')).toBe('HELLO');
  });

  it('fails a dropped write whose body does not match its digest (it was never checked)', async () => {
    const root = tmp();
    const thread = new BlobThread();
    const body = Buffer.from('body');
    const matching = thread.write(path.join(root, 'a.msg'), body, blobDigest(body));
    const mismatching = thread.write(path.join(root, 'b.msg'), body, blobDigest(Buffer.from('other')));
    expect(matching.drop()).toBe(true);
    expect(mismatching.drop()).toBe(true);
    await matching.done;
    await expect(mismatching.done).rejects.toMatchObject({ code: 'EDIGEST' });
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('writes views of shared memory (the reader windows) from it, beside copied bodies in one batch', async () => {
    const root = tmp();
    const thread = new BlobThread();
    const window = Buffer.from(new SharedArrayBuffer(64), 0, 64);
    window.write('..SHARED-ONE..SHARED-TWO..', 0, 'latin1');
    const one = window.subarray(2, 12);
    const a = thread.write(path.join(root, 'a.msg'), one, blobDigest(one));
    const b = thread.write(path.join(root, 'b.msg'), window.subarray(14, 24));
    const c = thread.write(path.join(root, 'c.msg'), Buffer.from('copied'));
    const d = thread.write(path.join(root, 'd.msg'), window.subarray(14, 24), blobDigest(one));
    await Promise.all([a.done, b.done, c.done]);
    await expect(d.done).rejects.toMatchObject({ code: 'EDIGEST' });
    expect(fs.readFileSync(path.join(root, 'a.msg'), 'utf8')).toBe('SHARED-ONE');
    expect(fs.readFileSync(path.join(root, 'b.msg'), 'utf8')).toBe('SHARED-TWO');
    expect(fs.readFileSync(path.join(root, 'c.msg'), 'utf8')).toBe('copied');
    expect(fs.existsSync(path.join(root, 'd.msg'))).toBe(false);
  });

  it('drops a write not sent yet, never one sent', async () => {
    const root = tmp();
    const thread = new BlobThread();
    const dropped = thread.write(path.join(root, 'a.msg'), Buffer.from('a'));
    expect(dropped.drop()).toBe(true);
    expect(dropped.drop()).toBe(true);
    await dropped.done;
    const sent = thread.write(path.join(root, 'b.msg'), Buffer.from('b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.drop()).toBe(false);
    await sent.done;
    expect(fs.readdirSync(root)).toEqual(['b.msg']);
  });
});
