import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandAgent } from '../../../src-main/engine/transport/command-agent';
import { AGENT_WINDOW_BYTES } from '../../../src-main/engine/transport/command-agent-script';
import { tarProblems, TAR_ARGV } from '../../../src-main/engine/transport/ssh-read-files';
import { splitTar, type ChunkSource } from '../../../src-main/engine/transport/tar-split';
import { makeTree, readAll, type TreeFixture } from './fixtures';
import { outcome, startLocalAgent } from './local-agent';

/**
 * readFilesOverSsh's tar, which the agent writes itself (command-agent-script.ts): what splitTar
 * reads of it equals what it reads of GNU tar's, GNU tar itself extracts it, and the messages
 * and status say the same. A `tar` placed first in the agent's PATH says "exec'd".
 */
let tree: TreeFixture;
let bin: string;
let agent: CommandAgent;
const big = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31) % 251));

beforeAll(async () => {
  tree = makeTree();
  fs.writeFileSync(path.join(tree.root, 'big.bin'), big);
  tree.files.set('big.bin', big);
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-agent-tar-bin-'));
  fs.writeFileSync(path.join(bin, 'tar'), '#!/bin/sh\necho "exec\'d"\n', { mode: 0o755 });
  const started = await startLocalAgent({ ...process.env, PATH: `${bin}:${process.env.PATH}` });
  expect(started).not.toBeNull();
  agent = started!;
  expect(agent.native).toBe(true); // statx, on x86_64 and aarch64
});

afterAll(() => {
  agent?.close();
  fs.rmSync(tree.root, { recursive: true, force: true });
  fs.rmSync(bin, { recursive: true, force: true });
});

const list = (rels: string[]) => rels.map((rel) => `${path.join(tree.root, rel)}\0`).join('');

function gnuTar(rels: string[]): { stdout: Buffer; stderr: string; code: number } {
  const [command, ...args] = TAR_ARGV;
  try {
    const stdout = execFileSync(command!, args, { input: list(rels), maxBuffer: 64 << 20, stdio: 'pipe' });
    return { stdout, stderr: '', code: 0 };
  } catch (error) {
    const failed = error as { stdout: Buffer; stderr: Buffer; status: number };
    return { stdout: failed.stdout, stderr: failed.stderr.toString(), code: failed.status };
  }
}

/** What splitTar reads of an archive: each file's name, size, mtime and a digest of its bytes. */
async function entries(archive: Buffer) {
  let given = false;
  const source: ChunkSource = { next: async () => (given ? null : ((given = true), archive)) };
  const seen: Array<{ name: string; size: number; mtimeMs: number; sha256: string }> = [];
  for await (const file of splitTar(source, 1 << 20)) {
    const bytes = file.parts ? Buffer.concat(file.parts) : await readAll(file.content!);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    seen.push({ name: file.name, size: file.size, mtimeMs: file.mtimeMs, sha256 });
  }
  return seen;
}

const digest = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');

describe("the agent's own tar", () => {
  it('sends what GNU tar sends: the same files, bytes, sizes and nanosecond mtimes', async () => {
    const rels = [...tree.files.keys(), 'empty-dir', 'link-to-top'];
    const ours = await outcome(agent.run(TAR_ARGV), list(rels));
    expect(ours.stdout.subarray(0, 20).toString()).not.toContain("exec'd");
    expect(ours.code).toBe(0);
    expect(ours.stderr).toBe('');
    expect(ours.stdout.length % 10240).toBe(0);
    const gnu = gnuTar(rels);
    expect(gnu.code).toBe(0);
    const got = await entries(ours.stdout);
    // The directory is no file; the symbolic link is followed (--dereference).
    expect(got).toHaveLength(tree.files.size + 1);
    expect(got).toEqual(await entries(gnu.stdout));
  });

  it('writes an archive GNU tar extracts byte for byte', async () => {
    const rels = [...tree.files.keys()];
    const ours = await outcome(agent.run(TAR_ARGV), list(rels));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-agent-tar-x-'));
    try {
      execFileSync('tar', ['-xf', '-', '-C', out], { input: ours.stdout });
      const extracted = path.join(out, tree.root.slice(1));
      for (const [rel, bytes] of tree.files) {
        expect(fs.readFileSync(path.join(extracted, rel)).equals(bytes), rel).toBe(true);
        expect(fs.statSync(path.join(extracted, rel)).mtimeMs).toBe(
          fs.statSync(path.join(tree.root, rel)).mtimeMs,
        );
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('skips a missing file as GNU tar does: the same message, status 2, the others sent', async () => {
    const rels = ['top.txt', 'no-such-file', 'a/b/c/deep.bin'];
    const ours = await outcome(agent.run(TAR_ARGV), list(rels));
    const gnu = gnuTar(rels);
    expect(ours.code).toBe(gnu.code);
    expect(ours.code).toBe(2);
    expect(ours.stderr).toBe(
      `tar: ${path.join(tree.root, 'no-such-file')}: Cannot stat: No such file or directory\n`,
    );
    // GNU tar says first that it strips the leading "/", which the agent does not say.
    expect(gnu.stderr).toContain(
      `tar: ${path.join(tree.root, 'no-such-file')}: Cannot stat: No such file or directory\n`,
    );
    expect(tarProblems(ours.code, ours.stderr)).toBeNull();
    expect((await entries(ours.stdout)).map((e) => e.size)).toEqual([10, 70_000]);
  });

  it('sends a paused reader no more than its credit, and the rest once read', async () => {
    const rels = Array.from({ length: 6 }, () => 'big.bin'); // 18 MiB against an 8 MiB credit
    const command = agent.run(TAR_ARGV);
    command.pause();
    command.end(list(rels));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(command.readableLength).toBeGreaterThan(0);
    expect(command.readableLength).toBeLessThanOrEqual(AGENT_WINDOW_BYTES + (64 << 10));
    command.resume(); // outcome's 'data' listener does not undo an explicit pause()
    const rest = await outcome(command);
    expect(rest.code).toBe(0);
    const got = await entries(Buffer.concat([rest.stdout]));
    expect(got.map((e) => e.sha256)).toEqual(rels.map(() => digest(big)));
  });

  it.each([
    ['shrinks', 'File shrank by', 2],
    ['grows', 'file changed as we read it', 1],
  ] as const)('says, as GNU tar does, that a file %s while it is read', async (change, says, status) => {
    // 24 MiB against an 8 MiB credit: while the reader is paused the agent holds the file open
    // part read, so the change falls inside the read.
    const file = path.join(tree.root, `changing-${change}.bin`);
    fs.writeFileSync(file, Buffer.alloc(24 << 20, 7));
    const command = agent.run(TAR_ARGV);
    command.pause();
    command.end(`${file}\0`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(command.readableLength).toBeGreaterThan(0);
    if (change === 'shrinks') fs.truncateSync(file, 12 << 20);
    else fs.appendFileSync(file, Buffer.alloc(1 << 20, 8));
    command.resume();
    const got = await outcome(command);
    expect(got.code).toBe(status);
    expect(got.stderr).toContain(`tar: ${file}: ${says}`);
    expect(tarProblems(got.code, got.stderr) === null).toBe(change === 'grows');
    // The entry has the size its header gave, either way (padded with zeros, or cut).
    expect((await entries(got.stdout)).map((e) => e.size)).toEqual([24 << 20]);
    fs.rmSync(file);
  });
});
