import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverFiles } from '../../../src-main/engine/replay/server-files';
import { LocalTransport } from '../../../src-main/engine/transport';

/**
 * ServerFiles.replaceTree on the server itself: how a restore puts a staged mailbox folder in
 * place. The old folder goes (its links removed, never followed), the staged one takes its name;
 * with nothing staged the old folder just goes; with no old folder the staged one is renamed.
 */
let dir: string;
const files = serverFiles(new LocalTransport({ name: 'local' }));
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
/** Every file under root with its content, by relative path. */
const contents = (root: string) =>
  Object.fromEntries(
    fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const full = path.join(e.parentPath, e.name);
        return [path.relative(root, full), fs.readFileSync(full, 'utf8')];
      }),
  );

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-replace-tree-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('replaceTree (local)', () => {
  it('replaces a folder of many files and nested folders by the staged one, following no link inside it', async () => {
    const mailbox = path.join(dir, 'store/0/5');
    const staged = `${mailbox}.mailvault-restore`;
    const outside = path.join(dir, 'outside');
    write(path.join(outside, 'precious.txt'), 'not the mailbox');
    for (let i = 0; i < 600; i++) write(path.join(mailbox, 'msg', String(i % 7), `${i}-1.msg`), `old ${i}`);
    fs.symlinkSync(outside, path.join(mailbox, 'msg', 'link-to-outside'));
    fs.symlinkSync(path.join(outside, 'precious.txt'), path.join(mailbox, 'file-link'));
    write(path.join(staged, 'msg', '0', '7-1.msg'), 'new 7');
    write(path.join(staged, 'index', '0', 'segments_1'), 'index');

    await files.replaceTree(staged, mailbox);

    expect(contents(mailbox)).toEqual({ 'msg/0/7-1.msg': 'new 7', 'index/0/segments_1': 'index' });
    expect(fs.existsSync(staged)).toBe(false);
    expect(contents(outside)).toEqual({ 'precious.txt': 'not the mailbox' });
  });

  it('only removes the folder when nothing was staged, and only renames when there was no folder', async () => {
    const mailbox = path.join(dir, 'store/0/6');
    write(path.join(mailbox, 'msg/0/1-1.msg'), 'old');
    await files.replaceTree(`${mailbox}.mailvault-restore`, mailbox);
    expect(fs.existsSync(mailbox)).toBe(false);

    const staged = `${mailbox}.mailvault-restore`;
    write(path.join(staged, 'msg/0/2-1.msg'), 'new');
    await files.replaceTree(staged, mailbox);
    expect(contents(mailbox)).toEqual({ 'msg/0/2-1.msg': 'new' });
  });

  it('removes a link standing where the folder was, not what it points to', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    write(path.join(elsewhere, 'keep.txt'), 'keep');
    const mailbox = path.join(dir, 'store/0/8');
    fs.mkdirSync(path.dirname(mailbox), { recursive: true });
    fs.symlinkSync(elsewhere, mailbox);
    await files.replaceTree(`${mailbox}.mailvault-restore`, mailbox);
    expect(fs.existsSync(mailbox)).toBe(false);
    expect(contents(elsewhere)).toEqual({ 'keep.txt': 'keep' });
  });
});
