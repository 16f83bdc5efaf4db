import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLock } from '../../src-main/engine/target/lock';
import { listSessions } from '../../src-main/engine/target/session-list';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { cli, type FaultLab, startCli, startFaultLab, tree, waitFor } from './fault-helpers';

/**
 * Issue 9, two writers on one target (real lab): a second backup, or a delete, while a backup
 * runs is refused with a message naming the running one, and nothing of the target changes; two
 * started at the same moment end with one refused or both one after the other, never
 * interleaved; and a backup killed with SIGKILL leaves a stale lock that the next run (backup or
 * delete) takes over, putting its accounts back.
 */
let f: FaultLab;
let home: string;
let emails: string[];
let work: string;

beforeAll(async () => {
  f = await startFaultLab({ seed: 'concurrency', accounts: ['w1', 'w2', 'w3', 'w4', 'w5'], messages: 8 });
  ({ emails, work } = f);
  home = f.server.zimbraHome;
});

afterAll(async () => {
  await f?.stop();
});

const full = (target: string, ...more: string[]) => [
  'zmbackup',
  '-f',
  '-a',
  'all',
  '-s',
  'local',
  '--zimbra-home',
  home,
  '-t',
  target,
  ...more,
];
/** Holds each maintenance window this long, so the backup keeps the target for a few seconds. */
const SLOW = { MAILVAULT_FAILPOINT: 'slow-maintenance:3000' };

function newTarget(name: string): string {
  const target = path.join(work, name);
  fs.mkdirSync(target);
  return target;
}

async function lockedBy(target: string): Promise<{ pid: number; label: string }> {
  let held = { pid: 0, label: '' };
  await waitFor('the backup to take the target', async () => {
    const lock = await readLock(target);
    if (lock.state === 'held' && lock.info.label) held = { pid: lock.info.pid, label: lock.info.label };
    return held.pid !== 0;
  });
  return held;
}

async function expectAllActive(): Promise<void> {
  for (const email of emails) expect(await accountStatus(f.ldap, email), email).toBe('active');
}

async function expectVerifies(target: string): Promise<void> {
  const run = await cli(['verify', '-t', target]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
}

const oneLine = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !/^npm warn/i.test(l));

describe('two writers on one target', () => {
  it('a second backup while one runs is refused naming the running one; the first completes', async () => {
    const target = newTarget('second');
    // Three more processes start while it runs: hold each window longer than they take to start.
    const first = startCli(full(target, '--sync'), { MAILVAULT_FAILPOINT: 'slow-maintenance:5000' });
    const { pid, label } = await lockedBy(target);
    const attempts = await Promise.all(
      [full(target, '--sync'), full(target), ['zmbackup', '-i', ...full(target).slice(2), '--sync']].map(
        (a) => cli(a),
      ),
    );
    expect(first.exited(), 'the first backup ended before the others tried: the test proves nothing').toBe(
      false,
    );
    for (const second of attempts) {
      expect(second.code, second.stderr).toBe(1);
      const lines = oneLine(second.stderr);
      expect(lines, second.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^mailvault: .*in use/);
      expect(lines[0]).toContain(label);
      expect(lines[0]).toContain(String(pid));
    }
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    const sessions = await listSessions(target);
    expect(sessions.map((s) => [s.label, s.state])).toEqual([[label, 'complete']]);
    expect(fs.readdirSync(path.join(target, 'tmp'))).toEqual([]);
    await expectAllActive();
    await expectVerifies(target);
  });

  it('two backups started together: one refused or both in turn, never interleaved', async () => {
    const target = newTarget('together');
    const [a, b] = await Promise.all([cli(full(target, '--sync')), cli(full(target, '--sync'))]);
    const results = [a, b];
    const succeeded = results.filter((r) => r.code === 0);
    expect(succeeded.length, `${a.stderr}\n${b.stderr}`).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)[0]).toMatch(/^mailvault: .*in use/);
    }
    const complete = (await listSessions(target)).filter((s) => s.state === 'complete');
    expect(complete).toHaveLength(succeeded.length);
    for (const s of complete) expect(s.manifest!.accounts).toHaveLength(emails.length);
    expect(fs.readdirSync(path.join(target, 'tmp'))).toEqual([]);
    await expectAllActive();
    await expectVerifies(target);
  });

  it('a delete while a backup runs is refused and deletes nothing; once it is done the delete runs', async () => {
    const target = newTarget('delete');
    expect((await cli(full(target, '--sync'))).code).toBe(0);
    const backup = startCli(full(target, '--sync'), SLOW);
    const { label } = await lockedBy(target);
    const sessionsBefore = tree(path.join(target, 'sessions'));
    const refused = await cli(['zmbackup', '-del', '0d', '-t', target]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(oneLine(refused.stderr)).toHaveLength(1);
    expect(oneLine(refused.stderr)[0]).toMatch(/^mailvault: nothing deleted: .*in use/);
    expect(oneLine(refused.stderr)[0]).toContain(label);
    expect(backup.exited(), 'the backup ended before the delete tried: the test proves nothing').toBe(false);
    expect(tree(path.join(target, 'sessions'))).toEqual(sessionsBefore);
    expect((await backup.done).code).toBe(0);
    const deleted = await cli(['zmbackup', '-del', label, '-t', target, '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout).sessions).toHaveLength(2);
    expect(await listSessions(target)).toEqual([]);
    await expectAllActive();
  });

  it('a backup killed with SIGKILL in a window: its stale lock is taken over by the next backup, accounts put back', async () => {
    const target = newTarget('stale');
    const victim = startCli(full(target, '--sync'), SLOW);
    const { label } = await lockedBy(target);
    await waitFor('an account in maintenance', async () => {
      for (const email of emails) if ((await accountStatus(f.ldap, email)) === 'maintenance') return true;
      return false;
    });
    victim.kill('SIGKILL');
    expect((await victim.done).signal).toBe('SIGKILL');
    // The lock is still there, its holder dead: the session is abandoned, not in progress.
    expect((await readLock(target)).state).toBe('held');
    expect((await listSessions(target)).map((s) => [s.label, s.state])).toEqual([[label, 'abandoned']]);
    const abort = await cli(['zmbackupabort', '-lb', label, '-t', target]);
    expect(abort.code).toBe(1);
    expect(oneLine(abort.stderr)[0]).toMatch(/^mailvault: no backup .* is running/);
    const next = await cli(full(target, '--sync', '--json'));
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).status).toBe('completed');
    await expectAllActive();
    const states = (await listSessions(target)).map((s) => s.state);
    expect(states.filter((s) => s === 'complete')).toHaveLength(1);
    expect(states).not.toContain('in progress');
    expect((await readLock(target)).state).toBe('free');
    await expectVerifies(target);
  });

  it('a delete after a killed backup takes the stale lock over too, and the accounts come back', async () => {
    const target = newTarget('stale-delete');
    expect((await cli(full(target, '--sync'))).code).toBe(0);
    const victim = startCli(full(target, '--sync'), { MAILVAULT_FAILPOINT: 'in-maintenance:2' });
    expect((await victim.done).signal).toBe('SIGKILL');
    expect((await readLock(target)).state).toBe('held');
    const left = [];
    for (const email of emails) if ((await accountStatus(f.ldap, email)) === 'maintenance') left.push(email);
    expect(left).toHaveLength(1);
    const deleted = await cli(['zmbackup', '-del', '0d', '-t', target, '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await readLock(target)).state).toBe('free');
    // A delete does not touch the server; the next backup puts the account back.
    const next = await cli(full(target, '--sync'));
    expect(next.code, next.stderr).toBe(0);
    await expectAllActive();
    await expectVerifies(target);
  });
});
