import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAR_ARGV } from '../../../src-main/engine/transport/ssh-read-files';
import { splitTar, TarFormatError, type ChunkSource } from '../../../src-main/engine/transport/tar-split';
import { makeTree, readAll, type TreeFixture } from './fixtures';

/** Feeds `bytes` in chunks of the given sizes, round and round (chunk edges fall anywhere). */
function chunked(bytes: Buffer, sizes: number[]): ChunkSource {
  let at = 0;
  let turn = 0;
  return {
    next: async () => {
      if (at >= bytes.length) return null;
      const size = sizes[turn++ % sizes.length]!;
      const chunk = bytes.subarray(at, at + size);
      at += size;
      return chunk;
    },
  };
}

/** What the SSH transport asks of the server's tar (ssh-read-files.ts), for the given files. */
function gnuTar(root: string, rels: string[]): Buffer {
  const [command, ...args] = TAR_ARGV;
  return execFileSync(command!, args, {
    input: rels.map((rel) => `./${path.join(root, rel)}\0`).join(''),
    cwd: '/',
    maxBuffer: 64 << 20,
  });
}

describe('splitTar', () => {
  let tree: TreeFixture;
  let rels: string[];
  let archive: Buffer;
  const big = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31) % 251));

  beforeAll(() => {
    tree = makeTree();
    fs.writeFileSync(path.join(tree.root, 'big.bin'), big);
    tree.files.set('big.bin', big);
    // A directory in the list too: tar sends it as an entry, which is not a file.
    rels = [...tree.files.keys(), 'empty-dir'];
    archive = gnuTar(tree.root, rels);
  });
  afterAll(() => fs.rmSync(tree.root, { recursive: true, force: true }));

  it.each([[[1 << 20]], [[1, 7, 511, 513, 4096]], [[100_000, 3]]])(
    'gives every regular file with its bytes, size and nanosecond mtime, whatever the chunk edges (%j)',
    async (sizes) => {
      const seen = new Map<string, Buffer>();
      for await (const file of splitTar(chunked(archive, sizes), 1 << 20)) {
        const rel = path.relative(tree.root.slice(1), file.name);
        const content = file.parts ? Buffer.concat(file.parts) : await readAll(file.content!);
        expect(file.size).toBe(content.length);
        expect(Boolean(file.parts)).toBe(file.size <= 1 << 20);
        expect(file.mtimeMs).toBe(fs.statSync(path.join(tree.root, rel)).mtimeMs);
        seen.set(rel, content);
      }
      expect([...seen.keys()].sort()).toEqual([...tree.files.keys()].sort());
      for (const [rel, content] of tree.files) expect(seen.get(rel)!.equals(content), rel).toBe(true);
      expect(seen.has(tree.longPath)).toBe(true);
    },
  );

  it('skips the rest of a large file its consumer gave up, and the next file still comes whole', async () => {
    const names: string[] = [];
    for await (const file of splitTar(chunked(archive, [4096]), 1 << 20)) {
      names.push(file.name);
      if (file.content) {
        for await (const chunk of file.content) {
          void chunk;
          break; // destroys the stream after one chunk
        }
      }
    }
    expect(names).toHaveLength(tree.files.size);
  });

  it('fails on a cut stream and on a damaged header, never ends quietly', async () => {
    const drain = async (bytes: Buffer) => {
      for await (const file of splitTar(chunked(bytes, [777]), 1 << 20))
        if (file.content) await readAll(file.content);
    };
    for (const cut of [100, 512, 2000, Math.floor(archive.length / 2)])
      await expect(drain(archive.subarray(0, cut))).rejects.toThrow(TarFormatError);
    const damaged = Buffer.from(archive);
    damaged[10] = damaged[10]! ^ 0xff; // in the first header's name: its checksum no longer matches
    await expect(drain(damaged)).rejects.toThrow(/checksum/);
  });
});
