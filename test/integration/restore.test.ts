import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { playRedo } from '../../src-main/engine/replay/player';
import { selectLogs, serverRedoLogs, targetRedoLogs } from '../../src-main/engine/replay/log-files';
import { serverReplayBase } from '../../src-main/engine/replay/server-replay';
import { mailboxGroupDb } from '../../src-main/engine/server/volumes';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { diffWithoutIndex, startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * Issue 6's round trip on a lab whose simulator ran through a full backup, rollovers and an
 * incremental: each account restored from the full alone equals its digest at the full; restored
 * to an instant T (the commit time of its last op when the digest was taken) it equals that
 * digest, in place and into a new account; replaying the same prefix again changes nothing.
 */
let r: RestoreLab;

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-round-trip',
    accounts: ['ann', 'ben', 'cat'],
    messages: 15,
    operations: 300,
    instantsEvery: 23,
  });
});

afterAll(async () => {
  await r?.stop();
});

describe('zmrestore on the lab', () => {
  it('restores each account to every recorded instant T: rows, blobs and LDAP equal the digest at T', async () => {
    expect(r.instants.length).toBeGreaterThanOrEqual(10);
    for (const instant of r.instants) {
      const result = await runRestore(r.access, {
        target: r.target,
        accounts: [instant.email],
        restoreToTime: instant.atMs,
      });
      expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
      expect(result.replay?.errors).toEqual([]);
      const after = await r.digest(instant.email);
      expect(diffWithoutIndex(instant.digest, after), `${instant.email} at ${instant.atMs}`).toEqual([]);
      // The index is the full's, byte for byte; a reindex was asked for (docs/restore.md).
      expect(after.index).toEqual(r.atFull.get(instant.email)!.index);
      expect(await accountStatus(r.ldap, instant.email)).toBe('active');
    }
  });

  it('replaying the same prefix again over a restored mailbox changes nothing', async () => {
    const instant = r.instants[r.instants.length - 1]!;
    await runRestore(r.access, { target: r.target, accounts: [instant.email], restoreToTime: instant.atMs });
    const once = await r.digest(instant.email);
    const base = await serverReplayBase(r.access);
    const logs = selectLogs([
      ...(await targetRedoLogs(r.target)),
      ...(await serverRedoLogs(r.access, '/nonexistent')),
    ]);
    const box = {
      sourceId: once.mailboxId,
      mailboxId: once.mailboxId,
      groupDb: mailboxGroupDb(once.mailboxId, base.mailboxGroups),
      accountId: once.accountId,
      email: instant.email,
    };
    const again = await playRedo({
      ...base,
      logs: logs.logs,
      toTime: instant.atMs,
      mailboxes: new Map([[once.mailboxId, box]]),
    });
    expect(again.applied).toBe(0);
    expect(again.alreadyPresent).toBeGreaterThan(0);
    expect((await r.digest(instant.email)).digest).toBe(once.digest);
  });

  it('restores from the full only (-rf) to the digest each account had at the full, index included', async () => {
    for (const email of r.emails) {
      const result = await runRestore(r.access, { target: r.target, accounts: [email], fullOnly: true });
      expect(result.status).toBe('ok');
      expect(result.replay).toBeNull();
      const after = await r.digest(email);
      expect(diffDigests(r.atFull.get(email)!, after), email).toEqual([]);
      expect(after.digest).toBe(r.atFull.get(email)!.digest);
    }
  });

  it('restores into a new account (-ca -pre) to the digest at T, the original untouched', async () => {
    const instant = r.instants[Math.floor(r.instants.length / 2)]!;
    const original = await r.digest(instant.email);
    const result = await runRestore(r.access, {
      target: r.target,
      accounts: [instant.email],
      restoreToTime: instant.atMs,
      createAccount: { prefix: 'copy_' },
    });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    const copy = result.accounts[0]!.restoredAs!;
    expect(copy.email).toBe(`copy_${instant.email}`);
    expect(copy.zimbraId).not.toBe(original.accountId);
    const ignore = { normalizeIds: true, ignoreColumns: ['mailbox.comment', 'mailbox.group_id'] };
    expect((await r.digest(instant.email)).digest).toBe(original.digest);
    const restored = await r.digest(copy.email, ignore);
    expect(restored.mailboxId).not.toBe(original.mailboxId);
    // The digest recorded at T, normalized the way mailboxDigest normalizes the copy's.
    const expected = normalize(instant.digest, ignore.ignoreColumns);
    expect(rowSets(restored)).toEqual(rowSets(expected));
    expect(restored.blobs).toEqual(expected.blobs);
    expect(restored.ldap).toEqual(expected.ldap);
    expect(await accountStatus(r.ldap, copy.email)).toBe('active');
  });
});

/** Each table's rows as a sorted list (keys differ once ids are normalized; a new mailbox may be in another group). */
function rowSets(d: MailboxDigest): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(d.rows).map(([table, byKey]) => [
      table.replace(/^mboxgroup\d+\./, 'mboxgroup.'),
      Object.values(byKey)
        .map((v) => JSON.stringify(v))
        .sort(),
    ]),
  );
}

/** A recorded digest as mailboxDigest would give it with normalizeIds and those columns ignored. */
function normalize(d: MailboxDigest, ignore: string[]): MailboxDigest {
  const rows: typeof d.rows = {};
  for (const [table, byKey] of Object.entries(d.rows)) {
    const name = table.split('.')[1]!;
    const mailboxColumn = table === 'zimbra.mailbox' ? 'id' : 'mailbox_id';
    rows[table] = {};
    for (const row of Object.values(byKey)) {
      const values: Record<string, string | null> = {};
      for (const [column, value] of Object.entries(row)) {
        if (ignore.includes(`${name}.${column}`)) continue;
        values[column] = column === mailboxColumn ? 'MAILBOX' : value === d.accountId ? 'ACCOUNT' : value;
      }
      const key = JSON.stringify(values);
      rows[table]![key] = values;
    }
  }
  const ldap = Object.fromEntries(
    Object.entries(d.ldap).filter(
      ([k]) => !['zimbraid', 'uid', 'mail', 'cn', 'zimbramaildeliveryaddress'].includes(k.toLowerCase()),
    ),
  );
  return { ...d, rows, ldap };
}
