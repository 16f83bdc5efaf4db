import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import {
  CURRENT_REDO_VERSION,
  OP_CODES,
  RedoLogFileWriter,
  type RedoOp,
} from '../../src-main/engine/redolog';
import {
  selectLogs,
  serverRedoLogs,
  targetRedoLogs,
  type RedoLogFile,
} from '../../src-main/engine/replay/log-files';
import { playRedo, type ReplayReport } from '../../src-main/engine/replay/player';
import { serverReplayBase } from '../../src-main/engine/replay/server-replay';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { blobDigest } from '../../src-main/engine/server/blob-digest';
import { mailboxGroupDb } from '../../src-main/engine/server/volumes';
import { UNREAD_BIT } from '../../src-main/engine/replay/system-folders';
import { startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * The quick path (bulk-apply.ts: a run of message ops applied in memory and written in a few
 * statements) against the careful one (one op at a time, a savepoint each) on the same mailbox
 * from the same full: the lab's own redo logs, then a synthetic log of the cases the bulk path
 * has rules for (an id named twice in one op, a message created, tagged, moved, flagged and
 * deleted in one run, an id created again after its delete, a tag created mid-run, links of
 * deleted items), must leave the same rows and blobs.
 */
let r: RestoreLab;
let logsWritten = 0;
/** One clock for every synthetic log: the quick and the careful replays get the same ops. */
const NOW = Date.now();

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'replay-bulk',
    accounts: ['ann', 'ben'],
    messages: 12,
    operations: 160,
    instantsEvery: 1_000_000,
  });
}, 600_000);

afterAll(async () => {
  await r?.stop();
});

async function synthetic(d: MailboxDigest, changeFrom: number, tampered?: number): Promise<RedoLogFile> {
  const file = path.join(r.target, `bulk-${d.mailboxId}-${++logsWritten}.log`);
  const writer = await RedoLogFileWriter.create(file, { seq: 99_999, serverId: 'test' });
  let counter = 0;
  let change = changeFrom;
  const now = NOW;
  const header = (op: string) => ({
    version: CURRENT_REDO_VERSION,
    opCode: OP_CODES[op]!,
    timestamp: now + counter * 1000,
    changeId: ++change,
    changeConstraint: 0,
    txnId: { time: 7, counter: ++counter },
    mailboxId: d.mailboxId,
  });
  const items = (ids: number[]) => ({ ids, itemType: 5, constraint: null });
  const message = (msgId: number, flags: number, tags: string[]) => {
    const raw = Buffer.from(
      `From: "Bulk" <b@x.test>\r\nTo: a@y.test\r\nSubject: Re: bulk ${msgId}\r\n\r\nbody ${msgId}\r\n`,
    );
    const digest = blobDigest(raw);
    // A body changed after it was logged: its bytes no longer match the digest the log holds.
    if (msgId === tampered) raw.writeUInt8(raw[raw.length - 3]! ^ 1, raw.length - 3);
    return {
      op: 'CreateMessage',
      header: header('CreateMessage'),
      rcptEmail: 'a@y.test',
      receivedDate: now,
      shared: false,
      digest,
      size: raw.length,
      msgId,
      folderId: 2,
      convId: -msgId,
      convFirstMsgId: 0,
      mergedConvIds: [],
      calendarItemId: 0,
      calItemPartStat: 'NE',
      flags,
      noICal: false,
      tags,
      path: ':streamed:',
      extended: null,
      body: { kind: 'inline', length: raw.length, data: raw },
    } as RedoOp;
  };
  const ops: RedoOp[] = [
    message(9101, UNREAD_BIT, []),
    { op: 'CreateTag', header: header('CreateTag'), tagId: 900, name: 'bulk', color: 3 } as RedoOp,
    message(9102, 0, ['bulk']),
    message(9103, UNREAD_BIT, ['bulk', 'nosuchtag']),
    {
      op: 'MoveItem',
      header: header('MoveItem'),
      ...items([9101, 9101, 9102]),
      targetFolderId: 4,
      uidNext: 0,
    } as RedoOp,
    {
      op: 'AlterItemTag',
      header: header('AlterItemTag'),
      ...items([9102, 9103]),
      tag: '\\Flagged',
      tagged: true,
    } as RedoOp,
    {
      op: 'AlterItemTag',
      header: header('AlterItemTag'),
      ...items([9103, 9103]),
      tag: '\\Unread',
      tagged: false,
    } as RedoOp,
    {
      op: 'AlterItemTag',
      header: header('AlterItemTag'),
      ...items([9101]),
      tag: 'bulk',
      tagged: true,
    } as RedoOp,
    {
      op: 'SetItemTags',
      header: header('SetItemTags'),
      ...items([9102]),
      flags: UNREAD_BIT,
      tags: [],
    } as RedoOp,
    { op: 'MoveItem', header: header('MoveItem'), ...items([9101]), targetFolderId: 2, uidNext: 0 } as RedoOp,
    { op: 'DeleteItem', header: header('DeleteItem'), ...items([9101, 9101, 424242]) } as RedoOp,
    message(9101, 0, ['bulk']),
    { op: 'DeleteItem', header: header('DeleteItem'), ...items([9103]) } as RedoOp,
    message(9104, 0, ['bulk']),
    message(9105, UNREAD_BIT, ['bulk']),
    {
      op: 'MoveItem',
      header: header('MoveItem'),
      ...items([9104, 9105]),
      targetFolderId: 4,
      uidNext: 0,
    } as RedoOp,
    // Folder 4 holds 9102, moved there before 9101 was made again (which starts a new bulk run:
    // a row that run reads for the folder, no op naming it), and 9104 and 9105 of this run.
    { op: 'EmptyFolder', header: header('EmptyFolder'), folderId: 4, subfolders: true } as RedoOp,
    message(9106, 0, []),
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
  return { name: path.basename(file), seq: 99_999, path: file, from: 'given' };
}

/** The account back at its full (rows and blobs), with what replaying onto it needs. */
async function fromFull(email: string) {
  const back = await runRestore(r.access, { target: r.target, accounts: [email], fullOnly: true });
  expect(back.status).toBe('ok');
  const start = await r.digest(email);
  const base = await serverReplayBase(r.access);
  const box = {
    sourceId: start.mailboxId,
    mailboxId: start.mailboxId,
    groupDb: mailboxGroupDb(start.mailboxId, base.mailboxGroups),
    accountId: start.accountId,
    email,
  };
  return { start, base, box, mailboxes: new Map([[start.mailboxId, box]]) };
}

/** The mailbox's change checkpoint now: where a synthetic log's change ids go on from. */
async function checkpoint(mailboxId: number): Promise<number> {
  const [row] = (await r.db.query('SELECT change_checkpoint FROM zimbra.mailbox WHERE id = ?', [
    mailboxId,
  ])) as unknown as [Array<{ change_checkpoint: number }>];
  return Number(row[0]!.change_checkpoint);
}

/** ann from the full, the lab's logs replayed onto her, then the synthetic log: quick or careful. */
async function replayed(
  email: string,
  careful: boolean,
): Promise<{ digest: MailboxDigest; reports: ReplayReport[] }> {
  const { start, base, mailboxes } = await fromFull(email);
  const logs = selectLogs([
    ...(await targetRedoLogs(r.target)),
    ...(await serverRedoLogs(r.access, '/nonexistent')),
  ]);
  const first = await playRedo({ ...base, logs: logs.logs, mailboxes, careful });
  const log = await synthetic(start, await checkpoint(start.mailboxId));
  const second = await playRedo({ ...base, logs: [log], mailboxes, careful });
  return { digest: await r.digest(email), reports: [first, second] };
}

describe('bulk replay path', () => {
  it('leaves the rows and blobs the one-op-at-a-time path leaves', async () => {
    for (const email of r.emails) {
      const careful = await replayed(email, true);
      const quick = await replayed(email, false);
      for (const report of [...careful.reports, ...quick.reports]) expect(report.errors).toEqual([]);
      expect(quick.reports.map((x) => x.retriedCarefully)).toEqual([0, 0]);
      expect(careful.reports[1]!.applied).toBe(18);
      expect(quick.reports[1]!.applied).toBe(18);
      expect(quick.reports[0]!.applied).toBeGreaterThan(20);
      expect(diffDigests(careful.digest, quick.digest), email).toEqual([]);
      expect(quick.digest.digest).toBe(careful.digest.digest);
      // The synthetic ops took effect: 9101 was deleted and created again, 9103 deleted, 9102, 9104
      // and 9105 went with folder 4, 9106 came after.
      const ids = Object.keys(
        quick.digest.rows[
          `${mailboxGroupDb(quick.digest.mailboxId, r.access.settings.mailboxGroups)}.mail_item`
        ] ?? {},
      );
      expect(ids.filter((k) => /\|910[1-6]$/.test(k)).sort()).toEqual(
        [9101, 9106].map((id) => `${quick.digest.mailboxId}|${id}`),
      );
    }
  });

  it('refuses a body that does not match its logged digest, on both paths', async () => {
    const email = r.emails[0]!;
    for (const careful of [true, false]) {
      const { start, base, box, mailboxes } = await fromFull(email);
      const log = await synthetic(start, await checkpoint(start.mailboxId), 9104);
      const report = await playRedo({ ...base, logs: [log], mailboxes, careful });
      expect(JSON.stringify(report.errors), `careful: ${careful}`).toContain(
        '9104: the logged body does not match digest',
      );
      const rows = (await r.digest(email)).rows[`${box.groupDb}.mail_item`] ?? {};
      expect(Object.keys(rows)).not.toContain(`${start.mailboxId}|9104`);
    }
  });
});
