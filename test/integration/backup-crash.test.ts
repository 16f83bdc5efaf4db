import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSessions } from '../../src-main/engine/target/session-list';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { cliKilledAfter, startFaultLab, type FaultLab } from '../faults/fault-helpers';
import { verifySessionFiles } from '../helpers/session-check';

/**
 * Issue 3's crash promise: kill -9 the backup at random moments, 20 times. Whatever the moment,
 * once any later run has started no account is left in maintenance, and no session that was
 * cut short is listed as complete.
 */
let f: FaultLab;
let target: string;
let emails: string[];

/** Runs a backup and kills it with SIGKILL after `afterMs` (or lets it finish). */
function runBackup(afterMs: number | null, failpoint?: string) {
  return cliKilledAfter(f.full(target, '--sync'), afterMs, { MAILVAULT_FAILPOINT: failpoint ?? '' });
}

beforeAll(async () => {
  f = await startFaultLab({
    seed: 'crash',
    accounts: ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'],
    messages: 30,
  });
  emails = f.emails;
  target = path.join(f.work, 'target');
  fs.mkdirSync(target);
});

afterAll(async () => {
  await f?.stop();
});

describe('a backup killed with SIGKILL at random moments', () => {
  it('never leaves an account in maintenance past the next run, nor a cut session listed as complete', async () => {
    const timed = await runBackup(null);
    expect(timed.code, timed.stderr).toBe(0);
    const started = Date.now();
    await runBackup(null);
    const fullRunMs = Date.now() - started;
    let sawMaintenanceLeft = 0;
    for (let i = 0; i < 24; i++) {
      // Even runs: a kill spread over the whole run, start-up included. Odd runs: a kill inside
      // the maintenance window of a random account, where a random kill hardly ever lands.
      const at = Math.floor(((i / 2 + Math.random()) / 12) * fullRunMs);
      const inWindow = `in-maintenance:${1 + Math.floor(Math.random() * emails.length)}`;
      const run = i % 2 === 0 ? await runBackup(at) : await runBackup(null, inWindow);
      if (i % 2 === 1) expect(run.signal, run.stderr).toBe('SIGKILL');
      const left = [];
      for (const email of emails)
        if ((await accountStatus(f.ldap, email)) === 'maintenance') left.push(email);
      if (i % 2 === 1) expect(left, `after ${inWindow}`).toHaveLength(1);
      sawMaintenanceLeft += left.length;
      for (const session of await listSessions(target)) {
        if (session.state !== 'complete') continue;
        expect(session.manifest!.status, `${session.label} after a kill at ${at} ms`).toMatch(/^completed/);
        await verifySessionFiles(session.dir, session.manifest!);
      }
    }
    // The run after the last kill restores whatever that kill left.
    const last = await runBackup(null);
    expect(last.code, last.stderr).toBe(0);
    for (const email of emails) expect(await accountStatus(f.ldap, email), email).toBe('active');
    const sessions = await listSessions(target);
    expect(sessions.filter((s) => s.state === 'complete').length).toBeGreaterThanOrEqual(3);
    // Twelve kills landed inside a window; each left one account that the next run restored.
    expect(sawMaintenanceLeft).toBeGreaterThanOrEqual(12);
  });
});
