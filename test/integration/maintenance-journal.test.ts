import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaintenanceJournal, recoverMaintenance } from '../../src-main/engine/backup/maintenance';
import type { Lab } from '../../src-main/lab/lab';
import { accountDn, accountStatus, setAccountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { ldapClient, withLab } from '../helpers/lab-fixture';

/**
 * The journal a full backup writes ahead of each window (expect) and does not rewrite when an
 * account leaves (leave without write): whatever a dead run's journal holds, recovery puts back
 * exactly the accounts it left in maintenance, with the status they had when they entered.
 */
let lab: Lab;
let ldap: Client;
let target: string;
const hostname = () => lab.info.servers[0]!.hostname;
const emails = ['ann@example.com', 'ben@example.com', 'cat@example.com'];
const account = (email: string) => ({ dn: accountDn(email), email });
const journalIn = (label: string) => path.join(target, 'tmp', label, 'maintenance.json');
const journalled = (label: string) =>
  (
    JSON.parse(fs.readFileSync(journalIn(label), 'utf8')) as {
      entries: Array<{ email: string; previousStatus: string }>;
    }
  ).entries;

beforeAll(async () => {
  lab = await withLab();
  const sim = await MailboxSimulator.open(lab.info.servers[0]!, { seed: 'journal' });
  await sim.provision(['ann', 'ben', 'cat']);
  await sim.close();
  ldap = await ldapClient(lab.info.servers[0]!);
  target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-journal-'));
});

afterAll(async () => {
  await ldap?.unbind().catch(() => undefined);
  await lab?.stop();
  fs.rmSync(target, { recursive: true, force: true });
});

describe('the maintenance journal written ahead of the window', () => {
  it('puts back only the accounts a dead run left in maintenance, with the status they entered with', async () => {
    const label = 'full-20261201.120000.000';
    const journal = new MaintenanceJournal(journalIn(label), hostname());
    const [ann, ben, cat] = emails.map(account) as [
      ReturnType<typeof account>,
      ReturnType<typeof account>,
      ReturnType<typeof account>,
    ];
    // ann: journalled ahead, entered and left (not rewritten); ben: journalled ahead, then the
    // administrator locked it before its window, then entered; cat: journalled ahead only.
    await journal.expect(ldap, ann);
    await journal.enter(ldap, ann);
    await journal.expect(ldap, ben);
    await journal.leave(ldap, ann.dn, { write: false });
    // ann is back but still named in the file: leaving did not write it.
    expect(journalled(label).map((e) => e.email)).toEqual([ann.email, ben.email]);
    await setAccountStatus(ldap, ben.email, 'locked');
    await journal.enter(ldap, ben);
    await journal.expect(ldap, cat);
    // The file lists ben with the status he entered with (written again: it changed).
    expect(journalled(label).find((e) => e.email === ben.email)?.previousStatus).toBe('locked');
    expect(journalled(label).map((e) => e.email)).toEqual([ben.email, cat.email]);
    expect(await accountStatus(ldap, ben.email)).toBe('maintenance');

    // The run dies here. The next run recovers: ben back to locked; cat (never entered) untouched
    // though the journal names it, and ann (back, changed since by an administrator) too.
    await setAccountStatus(ldap, ann.email, 'closed'); // an administrator's change since
    const restored = await recoverMaintenance(target, hostname(), ldap);
    expect(restored.map((e) => e.email)).toEqual([ben.email]);
    expect(await accountStatus(ldap, ann.email)).toBe('closed');
    expect(await accountStatus(ldap, ben.email)).toBe('locked');
    expect(await accountStatus(ldap, cat.email)).toBe('active');
    expect(fs.existsSync(journalIn(label))).toBe(false);
    await setAccountStatus(ldap, ann.email, 'active');
    await setAccountStatus(ldap, ben.email, 'active');
  });

  it('is removed when the run closes it with every account back, and kept while one is not', async () => {
    const label = 'full-20261201.120100.000';
    const journal = new MaintenanceJournal(journalIn(label), hostname());
    const [ann, ben] = emails.map(account) as [ReturnType<typeof account>, ReturnType<typeof account>];
    await journal.expect(ldap, ann);
    await journal.enter(ldap, ann);
    await journal.expect(ldap, ben);
    await journal.close(); // ann still in maintenance: nothing is removed
    expect(journalled(label).map((e) => e.email)).toContain(ann.email);
    await journal.leave(ldap, ann.dn, { write: false });
    expect(fs.existsSync(journalIn(label))).toBe(true);
    await journal.close();
    expect(fs.existsSync(journalIn(label))).toBe(false);
    expect(await accountStatus(ldap, ann.email)).toBe('active');
  });
});
