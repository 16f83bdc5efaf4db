import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSnapshot } from '../../../src-main/engine/backup/file-snapshot';
import {
  parseSharedBlobsTsv,
  SharedBlobs,
  sharedBlobsTsv,
} from '../../../src-main/engine/backup/shared-blobs';
import type { ZipMode } from '../../../src-main/engine/target/manifest';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { LocalTransport } from '../../../src-main/engine/transport';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
}

async function contents(archive: string, mode: ZipMode): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (mode === 'none') {
    for (const entry of fs.readdirSync(archive, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      out[path.relative(archive, full).split(path.sep).join('/')] = fs.readFileSync(full, 'utf8');
    }
    return out;
  }
  const reader = await ZipReader.open(archive);
  for (const entry of reader.entries)
    if (!entry.isDirectory) out[entry.name] = (await reader.readEntry(entry.name)).toString();
  reader.close();
  return out;
}

describe('FileSnapshot', () => {
  for (const mode of ['store', 'none'] as const) {
    it(`holds exactly the files present at catch-up, whatever changed after the pre-copy (${mode})`, async () => {
      const volume1 = path.join(dir, 'v1');
      const volume2 = path.join(dir, 'v2');
      write(volume1, { 'msg/0/257-3.msg': 'first', 'msg/0/258-4.msg': 'second', 'msg/0/259-5.msg': 'third' });
      write(volume2, { 'msg/0/300-9.msg': 'moved to HSM' });
      const base = path.join(dir, 'staging', 'blobs');
      const snapshot = new FileSnapshot(
        new LocalTransport(),
        [
          { root: volume1, prefix: '1/' },
          { root: volume2, prefix: '2/' },
        ],
        base,
        mode,
      );
      await snapshot.preCopy();
      // Between the pre-copy and maintenance: a delivery, a delete, an index-like rewrite in place.
      write(volume1, { 'msg/0/260-6.msg': 'delivered late' });
      fs.rmSync(path.join(volume1, 'msg/0/258-4.msg'));
      fs.writeFileSync(path.join(volume1, 'msg/0/259-5.msg'), 'rewritten, longer');
      expect(await snapshot.catchUp()).toEqual({ late: 2, dropped: 2 });
      await snapshot.finish();
      // After catch-up nothing counts any more.
      write(volume1, { 'msg/0/261-7.msg': 'after maintenance' });
      expect(await contents(mode === 'none' ? base : `${base}.zip`, mode)).toEqual({
        '1/msg/0/257-3.msg': 'first',
        '1/msg/0/259-5.msg': 'rewritten, longer',
        '1/msg/0/260-6.msg': 'delivered late',
        '2/msg/0/300-9.msg': 'moved to HSM',
      });
      expect(fs.readdirSync(path.dirname(base)).sort()).toEqual([mode === 'none' ? 'blobs' : 'blobs.zip']);
    });
  }

  it('adds late files without rebuilding when nothing went away, and copes with a missing directory', async () => {
    const root = path.join(dir, 'index');
    const base = path.join(dir, 'staging', 'index');
    const snapshot = new FileSnapshot(
      new LocalTransport(),
      [
        { root, prefix: '' },
        { root: path.join(dir, 'absent'), prefix: 'x/' },
      ],
      base,
      'store',
    );
    await snapshot.preCopy();
    write(root, { '_0.cfs': 'segment', segments_1: 'commit' });
    expect(await snapshot.catchUp()).toEqual({ late: 2, dropped: 0 });
    const result = await snapshot.finish();
    expect(result.entries).toBe(2);
    expect(await contents(`${base}.zip`, 'store')).toEqual({ '_0.cfs': 'segment', segments_1: 'commit' });
  });
});

describe('FileSnapshot with hard-linked blobs', () => {
  const snapshotOf = (root: string, name: string, shared: SharedBlobs) =>
    new FileSnapshot(
      new LocalTransport(),
      [{ root, prefix: '1/' }],
      path.join(dir, 'staging', name, 'blobs'),
      'store',
      {
        shared,
        owner: name,
      },
    );

  it('stores each inode once per session and refers to it from every further name', async () => {
    const ann = path.join(dir, 'ann');
    const ben = path.join(dir, 'ben');
    write(ann, { '0/257-3.msg': 'to both', '0/258-4.msg': 'ann only' });
    write(ben, { '0/900-2.msg': 'ben only' });
    fs.linkSync(path.join(ann, '0/257-3.msg'), path.join(ben, '0/901-5.msg')); // delivered to both
    fs.linkSync(path.join(ann, '0/258-4.msg'), path.join(ann, '0/259-6.msg')); // copied within ann
    const shared = new SharedBlobs();

    const first = snapshotOf(ann, 'ann', shared);
    await first.preCopy();
    await first.catchUp();
    await first.finish();
    expect(Object.keys(await contents(path.join(dir, 'staging/ann/blobs.zip'), 'store')).sort()).toEqual([
      '1/0/257-3.msg',
      '1/0/258-4.msg',
    ]);
    expect(first.sharedReferences()).toEqual(
      new Map([['1/0/259-6.msg', { zimbraId: 'ann', entry: '1/0/258-4.msg' }]]),
    );
    shared.register('ann', first.storedLinkedFiles());
    expect(shared.size).toBe(2);

    const second = snapshotOf(ben, 'ben', shared);
    await second.preCopy();
    await second.catchUp();
    await second.finish();
    expect(await contents(path.join(dir, 'staging/ben/blobs.zip'), 'store')).toEqual({
      '1/0/900-2.msg': 'ben only',
    });
    expect(sharedBlobsTsv(second.sharedReferences())).toBe('1/0/901-5.msg\tann\t1/0/257-3.msg\n');
  });

  it('leaves a blob another account in progress is storing to its catch-up (pre-copies that overlap)', async () => {
    const ann = path.join(dir, 'ann');
    const ben = path.join(dir, 'ben');
    const cat = path.join(dir, 'cat');
    write(ann, { '0/257-3.msg': 'to all three' });
    write(ben, { '0/900-2.msg': 'ben only' });
    fs.mkdirSync(path.join(cat, '0'), { recursive: true });
    fs.linkSync(path.join(ann, '0/257-3.msg'), path.join(ben, '0/901-5.msg'));
    fs.linkSync(path.join(ann, '0/257-3.msg'), path.join(cat, '0/950-1.msg'));
    const shared = new SharedBlobs();
    const first = snapshotOf(ann, 'ann', shared);
    const second = snapshotOf(ben, 'ben', shared);
    const third = snapshotOf(cat, 'cat', shared);
    // The next accounts' pre-copies run before the first has registered what it stores.
    await first.preCopy();
    await second.preCopy();
    await third.preCopy();
    await first.catchUp();
    await first.finish();
    shared.register('ann', first.storedLinkedFiles());
    // ben's catch-up finds it registered: a reference, nothing read in the window.
    expect(await second.catchUp()).toEqual({ late: 0, dropped: 0 });
    await second.finish();
    expect(await contents(path.join(dir, 'staging/ben/blobs.zip'), 'store')).toEqual({
      '1/0/900-2.msg': 'ben only',
    });
    expect(sharedBlobsTsv(second.sharedReferences())).toBe('1/0/901-5.msg\tann\t1/0/257-3.msg\n');
    // Had the first account failed instead (given up: its claims released, nothing registered),
    // the blob is read in the catch-up: stored, never lost.
    await third.abort();
    const again = new SharedBlobs();
    const failing = snapshotOf(ann, 'ann2', again);
    const next = snapshotOf(cat, 'dan', again);
    await failing.preCopy();
    await next.preCopy();
    await failing.abort();
    expect(await next.catchUp()).toEqual({ late: 1, dropped: 0 });
    await next.finish();
    expect(await contents(path.join(dir, 'staging/dan/blobs.zip'), 'store')).toEqual({
      '1/0/950-1.msg': 'to all three',
    });
  });

  it('reads a further name after all when the stored one is deleted before the catch-up', async () => {
    const ann = path.join(dir, 'ann');
    write(ann, { '0/258-4.msg': 'kept under its copy' });
    fs.linkSync(path.join(ann, '0/258-4.msg'), path.join(ann, '0/259-6.msg'));
    const snapshot = snapshotOf(ann, 'ann', new SharedBlobs());
    await snapshot.preCopy();
    fs.rmSync(path.join(ann, '0/258-4.msg')); // the original message deleted, its copy kept
    await snapshot.catchUp();
    await snapshot.finish();
    expect(await contents(path.join(dir, 'staging/ann/blobs.zip'), 'store')).toEqual({
      '1/0/259-6.msg': 'kept under its copy',
    });
    expect(snapshot.sharedReferences().size).toBe(0);
  });

  it('parses what it writes and refuses a malformed line', () => {
    const refs = new Map([['1/0/5-1.msg', { zimbraId: 'z', entry: '1/0/2-1.msg' }]]);
    expect(parseSharedBlobsTsv(sharedBlobsTsv(refs))).toEqual([
      { name: '1/0/5-1.msg', zimbraId: 'z', entry: '1/0/2-1.msg' },
    ]);
    expect(() => parseSharedBlobsTsv('only\ttwo\n')).toThrow('line 1');
  });
});
