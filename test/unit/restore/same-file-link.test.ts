import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SameFileLinker } from '../../../src-main/engine/restore/same-file-link';

/**
 * A staged file is linked to the live mailbox folder's file only when that is a regular file
 * inside the live folder with exactly the bytes to write; in every other case nothing is made
 * and the caller writes the file.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function folders() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-link-'));
  dirs.push(root);
  const live = path.join(root, '257');
  const staged = path.join(root, '257.mailvault-restore');
  fs.mkdirSync(path.join(live, 'msg', '0'), { recursive: true });
  fs.mkdirSync(path.join(staged, 'msg', '0'), { recursive: true });
  return { root, live, staged };
}

describe('SameFileLinker', () => {
  it('links a file the live folder holds with the same bytes: the same inode, no new file', () => {
    const { live, staged } = folders();
    const data = Buffer.from('From: a@b\r\n\r\nbody');
    fs.writeFileSync(path.join(live, 'msg/0/300-5.msg'), data);
    const linker = new SameFileLinker();
    expect(linker.link(live, 'msg/0/300-5.msg', path.join(staged, 'msg/0/300-5.msg'), data)).toBe(true);
    const a = fs.statSync(path.join(live, 'msg/0/300-5.msg'));
    const b = fs.statSync(path.join(staged, 'msg/0/300-5.msg'));
    expect(b.ino).toBe(a.ino);
    expect(b.nlink).toBe(2);
    // The live folder removed (the restore's swap): the staged name keeps the bytes.
    fs.rmSync(live, { recursive: true });
    expect(fs.readFileSync(path.join(staged, 'msg/0/300-5.msg'))).toEqual(data);
    expect([linker.linked, linker.linkedBytes]).toEqual([1, data.length]);
  });

  it('makes nothing when the bytes, the size or the name differ', () => {
    const { live, staged } = folders();
    fs.writeFileSync(path.join(live, 'msg/0/300-5.msg'), 'abcd');
    const linker = new SameFileLinker();
    const target = path.join(staged, 'msg/0/300-5.msg');
    expect(linker.link(live, 'msg/0/300-5.msg', target, Buffer.from('abce'))).toBe(false);
    expect(linker.link(live, 'msg/0/300-5.msg', target, Buffer.from('abcde'))).toBe(false);
    expect(linker.link(live, 'msg/0/301-5.msg', target, Buffer.from('abcd'))).toBe(false);
    expect(linker.link(path.join(live, 'absent'), 'msg/0/300-5.msg', target, Buffer.from('abcd'))).toBe(
      false,
    );
    expect(fs.existsSync(target)).toBe(false);
    expect(linker.linked).toBe(0);
  });

  it('never links through a symbolic link: a linked file, or a folder leading outside', () => {
    const { root, live, staged } = folders();
    const outside = path.join(root, 'outside');
    fs.mkdirSync(outside);
    const data = Buffer.from('secret');
    fs.writeFileSync(path.join(outside, '300-5.msg'), data);
    fs.symlinkSync(path.join(outside, '300-5.msg'), path.join(live, 'msg/0/300-5.msg'));
    fs.symlinkSync(outside, path.join(live, 'msg/1'));
    const linker = new SameFileLinker();
    expect(linker.link(live, 'msg/0/300-5.msg', path.join(staged, 'msg/0/300-5.msg'), data)).toBe(false);
    fs.mkdirSync(path.join(staged, 'msg/1'));
    expect(linker.link(live, 'msg/1/300-5.msg', path.join(staged, 'msg/1/300-5.msg'), data)).toBe(false);
    expect(linker.link(live, '../outside/300-5.msg', path.join(staged, 'x.msg'), data)).toBe(false);
    expect(fs.readdirSync(path.join(staged, 'msg/0'))).toEqual([]);
    expect(fs.readdirSync(path.join(staged, 'msg/1'))).toEqual([]);
  });

  it('makes nothing when the staged name exists already', () => {
    const { live, staged } = folders();
    const data = Buffer.from('same');
    fs.writeFileSync(path.join(live, 'msg/0/300-5.msg'), data);
    fs.writeFileSync(path.join(staged, 'msg/0/300-5.msg'), 'other');
    const linker = new SameFileLinker();
    expect(linker.link(live, 'msg/0/300-5.msg', path.join(staged, 'msg/0/300-5.msg'), data)).toBe(false);
    expect(fs.readFileSync(path.join(staged, 'msg/0/300-5.msg'), 'utf8')).toBe('other');
  });
});
