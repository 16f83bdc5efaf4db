import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isDeadTempOfThisHost,
  sweepDeadTemps,
  tempFileWriter,
  tempNameFor,
  writeFileAtomic,
} from '../../../src-main/engine/target/durable-fs';
import { tempDir } from './fixtures';

const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

describe('temp files of atomic writes', () => {
  it('name their writer: pid and whether it is this host', () => {
    const name = path.basename(tempNameFor('/x/catalog.json'));
    expect(name).toMatch(/^catalog\.json\.tmp-\d+-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect(tempFileWriter(name)).toEqual({ pid: process.pid, thisHost: true });
    // Before temps carried a host tag: the host is unknown.
    expect(tempFileWriter('catalog.json.tmp-123-0badcafe')).toEqual({ pid: 123, thisHost: false });
    expect(tempFileWriter('catalog.json')).toBeNull();
    expect(isDeadTempOfThisHost(name)).toBe(false); // ours, and we run
  });

  it('are swept when their writer was killed, and only then', async () => {
    const dir = tempDir();
    const dead = path
      .basename(tempNameFor(path.join(dir, 'a.json')))
      .replace(/tmp-\d+-/, `tmp-${deadPid()}-`);
    const live = path.basename(tempNameFor(path.join(dir, 'b.json')));
    const otherHost = `c.json.tmp-${deadPid()}-00000000-0badcafe`;
    const oldFormat = `d.json.tmp-${deadPid()}-0badcafe`;
    for (const name of [dead, live, otherHost, oldFormat, 'e.json'])
      fs.writeFileSync(path.join(dir, name), '');
    expect(isDeadTempOfThisHost(dead)).toBe(true);
    await sweepDeadTemps(dir);
    expect(fs.readdirSync(dir).sort()).toEqual([live, otherHost, oldFormat, 'e.json'].sort());
    await sweepDeadTemps(path.join(dir, 'missing')); // nothing there: nothing to do
    fs.rmSync(dir, { recursive: true });
  });

  it('leave nothing behind when the write succeeds', async () => {
    const dir = tempDir();
    await writeFileAtomic(path.join(dir, 'f.json'), '{}');
    expect(fs.readdirSync(dir)).toEqual(['f.json']);
    fs.rmSync(dir, { recursive: true });
  });
});
