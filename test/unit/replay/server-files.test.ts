import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serverFiles } from '../../../src-main/engine/replay/server-files';
import { LocalTransport } from '../../../src-main/engine/transport';

/** listFiles is what replay's blob sweep removes from: regular files only, links never followed. */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('local server files: listFiles', () => {
  const files = serverFiles(new LocalTransport({ name: 'test' }));

  it('lists regular files at any depth, and nothing for an absent folder', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-list-'));
    dirs.push(root);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-list-out-'));
    dirs.push(outside);
    fs.writeFileSync(path.join(outside, '9-9.msg'), 'not under root');
    fs.mkdirSync(path.join(root, 'msg', '0'), { recursive: true });
    fs.writeFileSync(path.join(root, 'msg', '0', '257-3.msg'), 'a');
    fs.writeFileSync(path.join(root, 'msg', 'top.msg'), 'b');
    fs.symlinkSync(outside, path.join(root, 'msg', 'linked-dir'));
    fs.symlinkSync(path.join(outside, '9-9.msg'), path.join(root, 'msg', '0', '9-9.msg'));
    expect((await files.listFiles(path.join(root, 'msg'))).sort()).toEqual([
      path.join(root, 'msg', '0', '257-3.msg'),
      path.join(root, 'msg', 'top.msg'),
    ]);
    expect(await files.listFiles(path.join(root, 'absent'))).toEqual([]);
  });

  it('writes blobs into folders made once, again after the folder was removed, and removes files already gone', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-write-'));
    dirs.push(root);
    const blob = path.join(root, 'msg', '0', '257-3.msg');
    await files.writeFile(blob, Buffer.from('first'));
    await files.writeFile(path.join(root, 'msg', '0', '258-4.msg'), Buffer.from('second'));
    expect(fs.readFileSync(blob, 'utf8')).toBe('first');
    fs.rmSync(path.join(root, 'msg'), { recursive: true });
    await files.writeFile(blob, Buffer.from('again'));
    expect(fs.readFileSync(blob, 'utf8')).toBe('again');
    await files.removeFiles([blob, path.join(root, 'msg', '0', 'never-there.msg')]);
    expect(fs.readdirSync(path.join(root, 'msg', '0'))).toEqual([]);
    await expect(files.removeFiles([path.join(root, 'msg')])).rejects.toThrow();
  });
});
