import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { openServerAccess } from '../../src-main/engine/server/server-access';
import { listSessions } from '../../src-main/engine/target/session-list';
import { SshTransport } from '../../src-main/engine/transport';
import { run } from '../../src-main/lab/exec';
import { readLabState, type Lab } from '../../src-main/lab/lab';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { ldapClient, withLab } from '../helpers/lab-fixture';

/**
 * What a backup does when the ground goes from under it: the SSH link drops, or MariaDB stops,
 * while an account is in maintenance. Either way: one clear error, the session thrown away, and
 * every account back in its previous status.
 */
let lab: Lab;
let server: LabServerInfo;
let ldap: Client;
let emails: string[];

/** The pid of the lab daemon whose command line mentions `match`. */
function daemonPid(match: string): number {
  for (const pid of readLabState(lab.info.dir)!.pids) {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes(match)) return pid;
  }
  throw new Error(`no lab daemon matches ${match}`);
}

const connectSsh = () =>
  SshTransport.connect({
    name: server.hostname,
    host: server.ssh.host,
    port: server.ssh.port,
    username: server.ssh.user,
    privateKey: fs.readFileSync(server.ssh.privateKeyPath),
    hostKeyFingerprint: server.ssh.hostKeyFingerprint,
    keepaliveIntervalMs: 500,
    keepaliveCountMax: 2,
  });

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  server = lab.info.servers[0]!;
  const sim = await MailboxSimulator.open(server, { seed: 'failures' });
  emails = (await sim.provision(['f1', 'f2', 'f3', 'f4', 'f5'])).map((m) => m.email);
  await sim.populate(10);
  await sim.close();
  ldap = await ldapClient(server);
});

afterAll(async () => {
  await ldap?.unbind().catch(() => undefined);
  await lab?.stop();
});

async function expectAllActive(): Promise<void> {
  for (const email of emails) expect(await accountStatus(ldap, email), email).toBe('active');
}

describe('a backup losing its server mid-way', () => {
  it('SSH link dropped in a maintenance window: a clear error, the session discarded, accounts reactivated over a new link', async () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-drop-'));
    const access = await openServerAccess(await connectSsh(), { zimbraHome: server.zimbraHome });
    const sshd = daemonPid('sshd_config');
    let inWindow = 0;
    try {
      const backup = runFullBackup(access, {
        target,
        accounts: 'all',
        zip: 'store',
        blobs: true,
        index: true,
        engineVersion: 'test',
        inMaintenance: async () => {
          // The third account: cut every connection sshd is serving (its per-connection children).
          if (++inWindow === 3) await run('pkill', ['-KILL', '-P', String(sshd)]).catch(() => undefined);
        },
        reconnect: async () => openServerAccess(await connectSsh(), { zimbraHome: server.zimbraHome }),
      });
      await expect(backup).rejects.toThrow(
        new RegExp(`${server.hostname.replace(/\./g, '\\.')}.*connection lost`, 'i'),
      );
      expect(inWindow).toBe(3);
      await expectAllActive();
      expect((await listSessions(target)).filter((s) => s.state === 'complete')).toEqual([]);
      expect(fs.readdirSync(path.join(target, 'tmp'))).toEqual([]);
    } finally {
      await access.close();
      fs.rmSync(target, { recursive: true, force: true });
    }
  });

  it('MariaDB stopped in a maintenance window: a clear error, accounts reactivated', async () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-dbdown-'));
    const access = await openServerAccess(await connectSsh(), { zimbraHome: server.zimbraHome });
    let inWindow = 0;
    try {
      const backup = runFullBackup(access, {
        target,
        accounts: 'all',
        zip: 'store',
        blobs: true,
        index: true,
        engineVersion: 'test',
        inMaintenance: async () => {
          if (++inWindow === 2) process.kill(daemonPid('mariadbd'), 'SIGKILL');
        },
      });
      await expect(backup).rejects.toThrow(/connect|lost|closed|ECONN|PROTOCOL/i);
      await expectAllActive();
      expect((await listSessions(target)).filter((s) => s.state === 'complete')).toEqual([]);
    } finally {
      await access.close();
      fs.rmSync(target, { recursive: true, force: true });
    }
  });
});
