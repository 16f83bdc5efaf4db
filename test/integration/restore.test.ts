import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CURRENT_REDO_VERSION,
  OP_CODES,
  RedoLogFileWriter,
  type MessageBody,
  type RedoOp,
} from '../../src-main/engine/redolog';
import { blobDigest } from '../../src-main/engine/server/blob-digest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { playRedo } from '../../src-main/engine/replay/player';
import { selectLogs, serverRedoLogs, targetRedoLogs } from '../../src-main/engine/replay/log-files';
import { serverReplayBase } from '../../src-main/engine/replay/server-replay';
import { indexDir, mailboxGroupDb, volumeFromRow } from '../../src-main/engine/server/volumes';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { diffWithoutIndex, startRestoreLab, type RestoreLab } from '../helpers/restore-lab';
import { indexedDocs, reindexMailbox } from '../helpers/restore-index';

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
      // The quick path (bulk-apply.ts) gave these rows: no run fell back to one op at a time.
      expect(result.replay?.retriedCarefully).toBe(0);
      const after = await r.digest(instant.email);
      expect(diffWithoutIndex(instant.digest, after), `${instant.email} at ${instant.atMs}`).toEqual([]);
      // The index is the full's, byte for byte; a reindex was asked for (docs/restore.md).
      expect(after.index).toEqual(r.atFull.get(instant.email)!.index);
      expect(result.reindex.map((x) => x.email)).toEqual([instant.email]);
      // What mailboxd's reindex then gives holds the same documents as the original's index at T.
      expect(Object.keys(instant.indexDocs).length).toBeGreaterThan(0);
      await reindexMailbox(r.db, after.mailboxId);
      expect(indexedDocs(await indexDirOf(after))).toEqual(instant.indexDocs);
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

/** The restored mailbox's index directory on the lab's index volume. */
async function indexDirOf(d: MailboxDigest): Promise<string> {
  const [rows] = (await r.db.query('SELECT * FROM zimbra.volume WHERE type = 10')) as unknown as [
    Array<Record<string, unknown>>,
  ];
  return indexDir(volumeFromRow(rows[0]!), d.mailboxId);
}

describe('-restoreToIncrLabel and -restoreToRedoSeq', () => {
  it('restore to the state the logs of an incremental leave, by its label or its last sequence', async () => {
    const email = r.emails[1]!;
    const last = r.incremental.redoLogs!.at(-1)!.seq;
    for (const to of [{ restoreToIncrLabel: r.incremental.label }, { restoreToRedoSeq: last }]) {
      const result = await runRestore(r.access, { target: r.target, accounts: [email], ...to });
      expect(result.status, JSON.stringify(to)).toBe('ok');
      expect(result.redo!.toSeq).toBe(last);
      expect(diffWithoutIndex(r.atIncrement.get(email)!, await r.digest(email)), JSON.stringify(to)).toEqual(
        [],
      );
    }
  });
});

describe('--skipDeletes', () => {
  it('keeps every message deleted after the full: the messages at T and those deletes took', async () => {
    const instant = r.instants[r.instants.length - 1]!;
    const result = await runRestore(r.access, {
      target: r.target,
      accounts: [instant.email],
      restoreToTime: instant.atMs,
      skipDeletes: true,
    });
    expect(result.status).toBe('ok');
    expect(result.replay!.skippedDeletes).toBeGreaterThan(0);
    const messages = (d: MailboxDigest) =>
      Object.values(Object.entries(d.rows).find(([t]) => t.endsWith('.mail_item'))![1])
        .filter((row) => row.type === '5')
        .map((row) => Number(row.id));
    const after = messages(await r.digest(instant.email));
    const atT = messages(instant.digest);
    expect(after.length).toBeGreaterThan(atT.length);
    expect(after).toEqual(expect.arrayContaining(atT));
    // Put it back as it was at T for the tests that follow.
    await runRestore(r.access, { target: r.target, accounts: [instant.email], restoreToTime: instant.atMs });
  });
});

describe('replay errors', () => {
  it('leaves out only the op that fails, or stops at it with stopOnError', async () => {
    const [row] = (await r.db.query(
      'SELECT id, account_id, change_checkpoint FROM zimbra.mailbox WHERE comment = ?',
      [r.emails[0]],
    )) as unknown as [Array<{ id: number; account_id: string; change_checkpoint: number }>];
    const { id, change_checkpoint: cp } = row[0]!;
    const file = path.join(r.target, 'synthetic.log');
    const writer = await RedoLogFileWriter.create(file, { seq: 9999, serverId: 'test' });
    let counter = 0;
    const now = Date.now();
    const header = (op: string, changeId: number, txn: number) => ({
      version: CURRENT_REDO_VERSION,
      opCode: OP_CODES[op]!,
      timestamp: now,
      changeId,
      changeConstraint: 0,
      txnId: { time: 1, counter: txn },
      mailboxId: id,
    });
    const raw = Buffer.from('From: a@b.test\r\nTo: x@y.test\r\nSubject: synthetic\r\n\r\nbody text\r\n');
    const message = (msgId: number, changeId: number, body: MessageBody) =>
      ({
        op: 'CreateMessage',
        header: header('CreateMessage', changeId, ++counter),
        rcptEmail: r.emails[0]!,
        receivedDate: now,
        shared: false,
        digest: blobDigest(raw),
        size: raw.length,
        msgId,
        folderId: 2,
        convId: -msgId,
        convFirstMsgId: 0,
        mergedConvIds: [],
        calendarItemId: 0,
        calItemPartStat: 'NE',
        flags: 0,
        noICal: false,
        tags: [],
        path: body.kind === 'link' ? '/nowhere/staged.msg' : ':streamed:',
        extended: null,
        body,
      }) as RedoOp;
    const ops: RedoOp[] = [
      {
        op: 'CreateFolder',
        header: header('CreateFolder', cp + 1, ++counter),
        name: 'Synthetic',
        parentId: 1,
        attrs: 0,
        defaultView: 5,
        flags: 0,
        color: 0,
        url: '',
        folderId: 9000,
        uuid: null,
        date: null,
        custom: null,
      } as RedoOp,
      message(9001, cp + 2, { kind: 'link' }),
      message(9002, cp + 3, { kind: 'inline', length: raw.length, data: raw }),
    ];
    for (const op of ops) {
      writer.append(op);
      writer.append({
        op: 'CommitTxn',
        header: { ...op.header, opCode: OP_CODES.CommitTxn!, changeId: -1 },
        txnOpCode: op.header.opCode,
      } as RedoOp);
    }
    await writer.close();
    const base = await serverReplayBase(r.access);
    const box = {
      sourceId: id,
      mailboxId: id,
      groupDb: mailboxGroupDb(id, base.mailboxGroups),
      accountId: row[0]!.account_id,
      email: r.emails[0]!,
    };
    const logs = [{ name: 'synthetic.log', seq: 9999, path: file, from: 'given' as const }];
    await expect(
      playRedo({ ...base, logs, mailboxes: new Map([[id, box]]), stopOnError: true }),
    ).rejects.toThrow(/was not logged/);
    const count = async (item: number) =>
      (
        (await r.db.query(
          `SELECT COUNT(*) AS n FROM ${box.groupDb}.mail_item WHERE mailbox_id = ? AND id = ?`,
          [id, item],
        )) as unknown as [Array<{ n: number }>]
      )[0][0]!.n;
    // Ops before the failing one are applied; the failing one and those after are not.
    expect([await count(9000), await count(9001), await count(9002)]).toEqual([1, 0, 0]);
    const report = await playRedo({ ...base, logs, mailboxes: new Map([[id, box]]) });
    expect(report.errors.map((e) => [e.op, e.changeId])).toEqual([['CreateMessage', cp + 2]]);
    // The folder came with the stopped run: its change id is in the mailbox, so it is not applied again.
    expect([report.applied, report.alreadyPresent]).toEqual([1, 1]);
    // The quick attempt failed on the missing blob; the run was applied again one op at a time.
    expect(report.retriedCarefully).toBe(1);
    expect([await count(9000), await count(9001), await count(9002)]).toEqual([1, 0, 1]);
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
