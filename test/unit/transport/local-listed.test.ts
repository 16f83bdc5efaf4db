import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src-main/engine/transport';

/**
 * readFiles with `listed` (what a walk said of each file): a file still of its listed size is
 * read without a stat and carries the listed mtime; any other file is read as without `listed`.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function readAll(root: string, names: string[], listed: Array<{ size: number; mtimeMs: number }>) {
  const out = new Map<string, { data: Buffer; size: number; mtimeMs: number }>();
  for await (const entry of new LocalTransport().readFiles(root, names, { listed })) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    if (entry.data) expect(entry.data.equals(data)).toBe(true);
    out.set(entry.path, { data, size: entry.size, mtimeMs: entry.mtimeMs });
  }
  return out;
}

describe('LocalTransport.readFiles with listed sizes', () => {
  it('trusts a file still of its listed size, and reads the others as they are now', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-listed-'));
    dirs.push(root);
    const write = (name: string, data: string | Buffer) => fs.writeFileSync(path.join(root, name), data);
    write('same', 'abcdef');
    write('grew', 'abc');
    write('shrank', 'abcdefgh');
    write('gone', 'x');
    write('dir', 'was a file');
    write('big', Buffer.alloc(2 * 1024 * 1024, 7));
    const names = ['same', 'grew', 'shrank', 'gone', 'dir', 'big'];
    const listedMtime = 1_600_000_000_000;
    const listed = names.map((n) => ({ size: fs.statSync(path.join(root, n)).size, mtimeMs: listedMtime }));
    // Changes after the listing, before the read:
    write('grew', 'abcdefghij');
    write('shrank', 'ab');
    fs.rmSync(path.join(root, 'gone'));
    fs.rmSync(path.join(root, 'dir'));
    fs.mkdirSync(path.join(root, 'dir'));

    const got = await readAll(root, names, listed);
    expect([...got.keys()]).toEqual(['same', 'grew', 'shrank', 'big']);
    expect(got.get('same')).toEqual({ data: Buffer.from('abcdef'), size: 6, mtimeMs: listedMtime });
    const now = (n: string) => fs.statSync(path.join(root, n)).mtimeMs;
    expect(got.get('grew')).toEqual({ data: Buffer.from('abcdefghij'), size: 10, mtimeMs: now('grew') });
    expect(got.get('shrank')).toEqual({ data: Buffer.from('ab'), size: 2, mtimeMs: now('shrank') });
    // Large files are streamed with their own stat, whatever was listed.
    expect(got.get('big')!.size).toBe(2 * 1024 * 1024);
    expect(got.get('big')!.mtimeMs).toBe(now('big'));
  });
});
