import fs from 'node:fs';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRedoLog } from '../../src-main/engine/redolog';
import { run } from '../../src-main/lab/exec';
import type { Lab } from '../../src-main/lab/lab';
import { accountsOnServer } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { homePaths } from '../../src-main/lab/zimbra-home';
import { ldapClient, pool, withLab } from '../helpers/lab-fixture';

/** Two mailbox servers as in a multi-server install: one shared LDAP, a MariaDB and sshd each. */
let lab: Lab;

beforeAll(async () => {
  lab = await withLab({ servers: 2, mailboxGroups: 10 });
  for (const [i, server] of lab.info.servers.entries()) {
    const sim = await MailboxSimulator.open(server, { seed: `multi-${i}` });
    try {
      await sim.provision([`a${i}`, `b${i}`, `c${i}`]);
      await sim.populate(5);
    } finally {
      await sim.close();
    }
  }
});

afterAll(async () => {
  await lab?.stop();
});

describe('a two-server lab', () => {
  it('gives each server its own address, database, ssh and zimbra home, and one LDAP to both', async () => {
    const [one, two] = lab.info.servers;
    expect(one!.mariadb.host).not.toBe(two!.mariadb.host);
    expect(one!.ldap.url).toBe(two!.ldap.url);
    expect(one!.zimbraHome).not.toBe(two!.zimbraHome);
    for (const server of lab.info.servers) {
      const hostname = await run('ssh', [
        '-i',
        server.ssh.privateKeyPath,
        '-p',
        String(server.ssh.port),
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        `${server.ssh.user}@${server.ssh.host}`,
        `grep -A1 zimbra_server_hostname ${server.zimbraHome}/conf/localconfig.xml`,
      ]);
      expect(hostname.stdout).toContain(server.hostname);
    }
  });

  it('puts each account on its server only: LDAP zimbraMailHost, mailbox rows and redo log agree', async () => {
    const ldap = await ldapClient(lab.info.servers[0]!);
    try {
      for (const [i, server] of lab.info.servers.entries()) {
        const accounts = (await accountsOnServer(ldap, server.ldap.baseDn, server.hostname))
          .map((a) => a.email)
          .sort();
        expect(accounts).toEqual([`a${i}@${lab.domain}`, `b${i}@${lab.domain}`, `c${i}@${lab.domain}`]);
        const db = pool(server);
        try {
          const [rows] = await db.query<RowDataPacket[]>(
            'SELECT comment FROM zimbra.mailbox ORDER BY comment',
          );
          expect(rows.map((r) => r.comment)).toEqual(accounts);
        } finally {
          await db.end();
        }
        const creates: string[] = [];
        const p = homePaths(server.zimbraHome);
        const logs = [...fs.readdirSync(p.redoArchive).map((f) => path.join(p.redoArchive, f)), p.redoLog];
        for (const log of logs) {
          for await (const event of readRedoLog(log))
            if (event.kind === 'op' && event.op.op === 'CreateMailbox')
              creates.push(event.op.accountId ?? '');
        }
        // Each server's log holds its own three mailboxes, no one else's.
        expect(creates).toHaveLength(3);
      }
    } finally {
      await ldap.unbind();
    }
  });
});
