import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSnapshot } from '../../../src-main/engine/backup/file-snapshot';
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
