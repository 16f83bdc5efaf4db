import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSessions } from '../../src-main/engine/target/session-list';
import { verifySessionFiles } from '../helpers/session-check';
import type { Lab } from '../../src-main/lab/lab';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { ldapClient, withLab } from '../helpers/lab-fixture';

/**
 * Issue 3's crash promise: kill -9 the backup at random moments, 20 times. Whatever the moment,
 * once any later run has started no account is left in maintenance, and no session that was
 * cut short is listed as complete.
 */
const ROOT = path.resolve(__dirname, '../..');
let lab: Lab;
let ldap: Client;
let target: string;
let emails: string[];

function backupArgs(home: string): string[] {
  return [
    '--import',
    'tsx/esm',
    path.join(ROOT, 'src-main/cli/main.ts'),
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
    '--sync',
  ];
}

/** Runs a backup and kills it with SIGKILL after `afterMs` (or lets it finish). */
function runBackup(
  home: string,
  afterMs: number | null,
  failpoint?: string,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, MAILVAULT_FAILPOINT: failpoint ?? '' };
    const child = spawn(process.execPath, backupArgs(home), {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = afterMs === null ? undefined : setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  const sim = await MailboxSimulator.open(server, { seed: 'crash' });
  emails = (await sim.provision(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'])).map((m) => m.email);
  await sim.populate(30);
  await sim.close();
  ldap = await ldapClient(server);
  target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-crash-'));
});

afterAll(async () => {
  await ldap?.unbind().catch(() => undefined);
  await lab?.stop();
  if (target) fs.rmSync(target, { recursive: true, force: true });
});

describe('a backup killed with SIGKILL at random moments', () => {
  it('never leaves an account in maintenance past the next run, nor a cut session listed as complete', async () => {
    const home = lab.info.servers[0]!.zimbraHome;
    const timed = await runBackup(home, null);
    expect(timed.code, timed.stderr).toBe(0);
    const started = Date.now();
    await runBackup(home, null);
    const fullRunMs = Date.now() - started;
    let sawMaintenanceLeft = 0;
    for (let i = 0; i < 24; i++) {
      // Even runs: a kill spread over the whole run, start-up included. Odd runs: a kill inside
      // the maintenance window of a random account, where a random kill hardly ever lands.
      const at = Math.floor(((i / 2 + Math.random()) / 12) * fullRunMs);
      const inWindow = `in-maintenance:${1 + Math.floor(Math.random() * emails.length)}`;
      const run = i % 2 === 0 ? await runBackup(home, at) : await runBackup(home, null, inWindow);
      if (i % 2 === 1) expect(run.signal, run.stderr).toBe('SIGKILL');
      const left = [];
      for (const email of emails) if ((await accountStatus(ldap, email)) === 'maintenance') left.push(email);
      if (i % 2 === 1) expect(left, `after ${inWindow}`).toHaveLength(1);
      sawMaintenanceLeft += left.length;
      for (const session of await listSessions(target)) {
        if (session.state !== 'complete') continue;
        expect(session.manifest!.status, `${session.label} after a kill at ${at} ms`).toMatch(/^completed/);
        await verifySessionFiles(session.dir, session.manifest!);
      }
    }
    // The run after the last kill restores whatever that kill left.
    const last = await runBackup(home, null);
    expect(last.code, last.stderr).toBe(0);
    for (const email of emails) expect(await accountStatus(ldap, email), email).toBe('active');
    const sessions = await listSessions(target);
    expect(sessions.filter((s) => s.state === 'complete').length).toBeGreaterThanOrEqual(3);
    // Twelve kills landed inside a window; each left one account that the next run restored.
    expect(sawMaintenanceLeft).toBeGreaterThanOrEqual(12);
  });
});
