import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandAgent } from '../../../src-main/engine/transport/command-agent';
import { FIND_PRINTF, FindRecordParser } from '../../../src-main/engine/transport/find-records';
import { outcome, startLocalAgent } from './local-agent';

/**
 * walkRemote's find, which the agent answers itself (command-agent-script.ts): the same records
 * as GNU find's, for the trees a mail store has and the odd ones it might. A `find` placed first
 * in the agent's PATH prints "exec'd": seeing it means the agent started a process after all.
 */
let dir: string;
let agent: CommandAgent;
const realFind = execFileSync('sh', ['-c', 'command -v find']).toString().trim();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-agent-find-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'find'), '#!/bin/sh\necho "exec\'d"\n', { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const started = await startLocalAgent(env);
  expect(started).not.toBeNull();
  agent = started!;
});

afterAll(() => {
  agent?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const walkArgv = (root: string) => [
  'find',
  '-H',
  root,
  '-ignore_readdir_race',
  '-type',
  'f',
  '-printf',
  FIND_PRINTF,
];

/** Records by path; find's %T@ prints ten fraction digits, the agent nine: compare the values. */
function records(stdout: Buffer) {
  const parser = new FindRecordParser();
  parser.push(stdout);
  return parser
    .end()
    .map((r) => r.info)
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function both(root: string) {
  const agentSays = await outcome(agent.run(['env', 'LC_ALL=C', ...walkArgv(root)]));
  const findSays = execFileSync(
    'sh',
    ['-c', '"$@"; echo "status $?" >&2', 'sh', realFind, ...walkArgv(root).slice(1)],
    {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return { agentSays, findSays };
}

describe("the agent's own find", () => {
  it('lists a tree as GNU find does: files only, links not followed below the root, odd names', async () => {
    const root = path.join(dir, 'tree');
    fs.mkdirSync(path.join(root, 'msg', '0', 'deep', 'er'), { recursive: true });
    fs.writeFileSync(path.join(root, 'msg', '0', '257-3.msg'), 'x'.repeat(11809));
    fs.writeFileSync(path.join(root, 'msg', '0', 'deep', 'er', 'a'), '');
    fs.writeFileSync(path.join(root, 'we\'ird\nname \\0 "q"'), 'odd');
    fs.linkSync(path.join(root, 'msg', '0', '257-3.msg'), path.join(root, 'hard-linked'));
    fs.symlinkSync(path.join(root, 'msg'), path.join(root, 'link-to-dir'));
    fs.symlinkSync(path.join(root, 'hard-linked'), path.join(root, 'link-to-file'));
    fs.symlinkSync('/nowhere', path.join(root, 'dangling'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const old = new Date(Date.UTC(1969, 11, 31, 23, 59, 58, 250)); // before 1970: a negative %T@
    fs.utimesSync(path.join(root, 'msg', '0', 'deep', 'er', 'a'), old, old);
    const { agentSays, findSays } = await both(root);
    expect(agentSays.stdout.toString()).not.toContain("exec'd");
    expect(agentSays.code).toBe(0);
    expect(agentSays.stderr).toBe('');
    const ours = records(agentSays.stdout);
    expect(ours.map((r) => r.path)).toEqual([
      'hard-linked',
      'msg/0/257-3.msg',
      'msg/0/deep/er/a',
      'we\'ird\nname \\0 "q"',
    ]);
    expect(ours).toEqual(records(findSays));
    // Node's lstat agrees too (mtimeMs to the nanosecond, dev as st_dev).
    for (const r of ours) {
      const st = fs.lstatSync(path.join(root, r.path));
      expect([r.size, r.mtimeMs, r.ino, r.dev, r.nlink]).toEqual([
        st.size,
        st.mtimeMs,
        st.ino,
        st.dev,
        st.nlink,
      ]);
    }
  });

  it('follows a root that is a symbolic link, lists a root that is a file, and says a missing root is missing', async () => {
    const root = path.join(dir, 'tree');
    const viaLink = await both(path.join(root, 'link-to-dir'));
    expect(records(viaLink.agentSays.stdout)).toEqual(records(viaLink.findSays));
    expect(records(viaLink.agentSays.stdout)).toHaveLength(2);
    const file = await both(path.join(root, 'hard-linked'));
    expect(records(file.agentSays.stdout)).toEqual(records(file.findSays));
    expect(records(file.agentSays.stdout).map((r) => r.path)).toEqual(['']);
    const missing = await outcome(agent.run(walkArgv(path.join(dir, 'missing'))));
    expect(missing).toEqual({
      stdout: Buffer.alloc(0),
      stderr: `find: '${path.join(dir, 'missing')}': No such file or directory\n`,
      code: 1,
    });
  });

  it('leaves any other find to find', async () => {
    const other = await outcome(agent.run(['find', '-H', dir, '-maxdepth', '0', '-printf', FIND_PRINTF]));
    expect(other.stdout.toString()).toBe("exec'd\n");
  });
});
