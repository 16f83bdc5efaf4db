import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../src-main/engine/transport';
import type { LabServerInfo } from '../../src-main/lab/types';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import type { Manifest } from '../../src-main/engine/target/manifest';
import { accountPaths, sessionDir } from '../../src-main/engine/target/layout';
import { run } from '../../src-main/lab/exec';
import type { Lab } from '../../src-main/lab/lab';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { digestAccount, ldapClient, pool, withLab } from './lab-fixture';
import { restoreWithPlainTools } from './plain-restore';

/**
 * Issue 3's promise, for one transport: a full backup taken while the simulator keeps the server
 * busy, restored with nothing but ldapadd, mariadb and unzip into an empty lab, gives every
 * account the digest it had the moment its maintenance began.
 */
export function fullBackupSuite(
  name: string,
  connect: (server: LabServerInfo) => Promise<Transport>,
  local: boolean,
): void {
  let lab: Lab;
  let empty: Lab;
  let sim: MailboxSimulator;
  let access: ServerAccess;
  let db: Pool;
  let ldap: Client;
  let target: string;
  let manifest: Manifest;
  const atMaintenance = new Map<string, MailboxDigest>();
  let deferredInWindow = 0;

  beforeAll(async () => {
    [lab, empty] = await Promise.all([withLab({ servers: 1 }), withLab({ servers: 1 })]);
    const server = lab.info.servers[0]!;
    sim = await MailboxSimulator.open(server, { seed: 'full-backup', abortRate: 0.02 });
    const [ann, ben, cat] = await sim.provision(['ann', 'ben', 'cat', 'dan', 'eve', 'fay']);
    await sim.populate(25);
    // Messages to several local recipients: one blob hard-linked into each mailbox.
    await sim.deliver([ann!, ben!]);
    await sim.deliver([ben!, cat!, ann!]);
    db = pool(server);
    ldap = await ldapClient(server);
    access = await openServerAccess(await connect(server), { zimbraHome: server.zimbraHome, local });
    target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-target-'));

    const busy = new AbortController();
    const activity = sim.run({ operations: 100_000, perSecond: 400, signal: busy.signal });
    try {
      manifest = await runFullBackup(access, {
        target,
        accounts: 'all',
        zip: 'store',
        blobs: true,
        index: true,
        engineVersion: 'test',
        // mailboxd's mailbox lock: let the operation in hand finish, then read the frozen mailbox.
        inMaintenance: async (account) => {
          const m = sim.mailboxes.get(account.email)!;
          await m.exclusive(async () =>
            atMaintenance.set(account.email, await digestAccount(server, db, ldap, account.email)),
          );
          // A delivery while the account is in maintenance, whatever the random activity does
          // meanwhile (a fast backup of six accounts can fall between its operations): it must
          // be deferred, and land once the account is back.
          const before = sim.stats.deferred;
          await sim.deliver([m]);
          if (sim.stats.deferred > before) deferredInWindow++;
        },
      });
    } finally {
      busy.abort();
      await activity;
    }
    await sim.flushDeferred();
  });

  afterAll(async () => {
    await sim?.close().catch(() => undefined);
    await access?.close();
    await db?.end();
    await ldap?.unbind().catch(() => undefined);
    await Promise.all([lab?.stop(), empty?.stop()]);
    if (target) fs.rmSync(target, { recursive: true, force: true });
  });

  describe(`full backup over ${name}`, () => {
    it('completes with every account, each in maintenance only for its window, and leaves none in maintenance', async () => {
      expect(JSON.stringify(manifest.errors)).toBe('[]');
      expect(manifest.status).toBe('completed');
      expect(manifest.accounts.map((a) => a.email).sort()).toEqual([...sim.mailboxes.keys()].sort());
      for (const account of manifest.accounts) {
        expect(account.status).toBe('COMPLETED');
        expect(account.maintenance).not.toBeNull();
        expect(await accountStatus(ldap, account.email)).toBe('active');
      }
      // The simulator kept working: deliveries to accounts in maintenance were deferred, then delivered.
      expect(deferredInWindow).toBe(manifest.accounts.length);
      expect(await sim.flushDeferred()).toBe(0);
    });

    it('writes archives unzip -t accepts and a manifest whose checksums match the files', async () => {
      const dir = sessionDir(target, manifest.label);
      const zips = Object.keys(manifest.files).filter((f) => f.endsWith('.zip'));
      expect(zips.length).toBe(2 * manifest.accounts.length);
      for (const zip of zips) await run('unzip', ['-tq', path.join(dir, zip)]);
      for (const [file, record] of Object.entries(manifest.files)) {
        const sha = (await run('sha256sum', [path.join(dir, file)])).stdout.split(' ')[0];
        expect(sha, file).toBe(record.sha256);
      }
      expect(fs.existsSync(path.join(dir, 'sys', 'localconfig.xml'))).toBe(true);
      // Messages delivered to several accounts are hard-linked blobs: stored once, referred to after.
      const tsvs = Object.keys(manifest.files).filter((f) => f.endsWith('/blobs-shared.tsv'));
      expect(tsvs.length).toBeGreaterThan(0);
      for (const tsv of tsvs) {
        for (const line of fs.readFileSync(path.join(dir, tsv), 'utf8').split('\n').filter(Boolean)) {
          const [name, holder, entry] = line.split('\t') as [string, string, string];
          const own = path.join(dir, path.dirname(tsv), 'blobs.zip');
          const listed = (await run('unzip', ['-Z1', own])).stdout.split('\n');
          expect(listed, `${name} is a reference, not a copy`).not.toContain(name);
          await run('unzip', ['-tq', path.join(dir, accountPaths(holder).blobsZip), entry]);
        }
      }
      expect(fs.readFileSync(path.join(dir, 'ldap', 'directory.ldif'), 'utf8')).toContain('dn: cn=zimbra');
    });

    it('restores with ldapadd, mariadb and unzip to the digest each account had when its maintenance began', async () => {
      const restored = empty.info.servers[0]!;
      const restoredDb = pool(restored);
      const restoredLdap = await ldapClient(restored);
      try {
        for (const account of manifest.accounts) {
          await restoreWithPlainTools(target, manifest.label, account, restored, restoredDb);
          const after = await digestAccount(restored, restoredDb, restoredLdap, account.email);
          const before = atMaintenance.get(account.email)!;
          expect(diffDigests(before, after), account.email).toEqual([]);
          expect(after.digest).toBe(before.digest);
        }
      } finally {
        await restoredDb.end();
        await restoredLdap.unbind();
      }
    });
  });
}
