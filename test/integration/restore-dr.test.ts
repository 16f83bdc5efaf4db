import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionDir } from '../../src-main/engine/target/layout';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { runIncrementalBackup } from '../../src-main/engine/backup/incremental-backup';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import { LocalTransport } from '../../src-main/engine/transport';
import type { Lab } from '../../src-main/lab/lab';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { digestAccount, ldapClient, pool, withLab } from '../helpers/lab-fixture';
import { startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * Disaster recovery: the source server is gone, only the target is left. A fresh lab (whose
 * directory lacks even ou=people) gets the directory's missing entries first, parents before
 * children, then every account (-a all -ra) from its full, brought forward by the redo logs the
 * target holds (-br). Every account's digest equals the source's last state.
 */
let r: RestoreLab;
let fresh: Lab;
let access: ServerAccess;
const last = new Map<string, MailboxDigest>();

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-dr',
    accounts: ['ann', 'ben', 'cat'],
    messages: 10,
    operations: 90,
    instantsEvery: 1000,
  });
  // A mailboxd start archives the redo.log it finds: then the last incremental holds every op.
  await (await MailboxSimulator.open(r.server, { seed: 'restart' })).close();
  await runIncrementalBackup(r.access, { target: r.target, accounts: 'all', engineVersion: 'test' });
  for (const email of r.emails) last.set(email, await r.digest(email));
  fresh = await withLab({ servers: 1 });
  const s = fresh.info.servers[0]!;
  const ldap = await ldapClient(s);
  await ldap.del(`ou=people,${s.ldap.baseDn}`);
  await ldap.unbind();
  access = await openServerAccess(new LocalTransport({ name: s.hostname }), {
    zimbraHome: s.zimbraHome,
    local: true,
  });
});

afterAll(async () => {
  await access?.close();
  await fresh?.stop();
  await r?.stop();
});

describe('disaster recovery into a fresh lab', () => {
  it('restores the directory first, then every account, each to the source digest', async () => {
    const result = await runRestore(access, {
      target: r.target,
      accounts: 'all',
      restoreAccount: true,
      backedUpRedoOnly: true,
    });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    expect(result.directoryEntriesAdded).toBeGreaterThanOrEqual(1);
    expect(result.accounts.map((a) => a.email).sort()).toEqual(r.emails);
    expect(result.replay!.files.every((f) => f.from === 'target')).toBe(true);
    const s = fresh.info.servers[0]!;
    const db = pool(s);
    const ldap = await ldapClient(s);
    try {
      for (const email of r.emails) {
        const restored = await digestAccount(s, db, ldap, email);
        const source = last.get(email)!;
        // The index is the full's (mailboxd rebuilds it on request): rows, blobs and LDAP are compared.
        expect(diffDigests({ ...source, index: {} }, { ...restored, index: {} }), email).toEqual([]);
        expect(await accountStatus(ldap, email)).toBe('active');
      }
    } finally {
      await db.end();
      await ldap.unbind();
    }
  });

  it('restores system data (-sys): the system tables as the full had them, localconfig beside the live one', async () => {
    const s = fresh.info.servers[0]!;
    const live = fs.readFileSync(path.join(s.zimbraHome, 'conf/localconfig.xml'));
    // A row only the fresh server has: the restore empties the table before it loads the full's.
    const db = pool(s);
    await db.query("INSERT INTO zimbra.config (name, value) VALUES ('mailvault.test.only', 'x')");
    await db.end();
    const result = await runRestore(access, { target: r.target, accounts: [], systemData: true });
    expect(result.status).toBe('ok');
    expect(result.system!.tables).toContain('config');
    const restored = path.join(s.zimbraHome, 'conf/localconfig.xml.restored');
    expect(fs.readFileSync(restored)).toEqual(
      fs.readFileSync(path.join(sessionDir(r.target, r.full.label), 'sys/localconfig.xml')),
    );
    expect(fs.readFileSync(path.join(s.zimbraHome, 'conf/localconfig.xml'))).toEqual(live);
    // The stock client sees the source's config rows.
    const query = 'SELECT name, value FROM zimbra.config ORDER BY name';
    const mariadb = (socket: string, password: string, user: string) =>
      execFileSync('mariadb', [
        '--no-defaults',
        '-S',
        socket,
        '-u',
        user,
        `--password=${password}`,
        '-N',
        '-e',
        query,
      ]).toString();
    const src = r.server.mariadb;
    expect(mariadb(s.mariadb.socket, s.mariadb.password, s.mariadb.user)).toBe(
      mariadb(src.socket, src.password, src.user),
    );
  });
});
