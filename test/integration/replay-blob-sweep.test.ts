import fs from 'node:fs';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { selectLogs, serverRedoLogs, targetRedoLogs } from '../../src-main/engine/replay/log-files';
import { playRedo, type PlayOptions } from '../../src-main/engine/replay/player';
import { serverReplayBase, type ServerReplayBase } from '../../src-main/engine/replay/server-replay';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { blobPath, mailboxGroupDb } from '../../src-main/engine/server/volumes';
import { startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * Replay removes a deleted item's blob after its rows commit (as Zimbra does). A replay killed
 * between that commit and the unlink left the blob, and the rerun skipped the delete (its change
 * id is at the checkpoint), so the file stayed for good (issue 9, failover-kill.test.ts seed 7002).
 * Replay now removes, at the end, the blob files of the mailboxes it replayed that no row refers
 * to (engine/replay/blob-sweep.ts); these tests show the rerun removes them and keeps every
 * referenced blob, current or of an older revision, and whatever is not its to remove.
 */
let r: RestoreLab;
let base: ServerReplayBase;
let ann: string;
let ben: string;

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'replay-blob-sweep',
    accounts: ['ann', 'ben'],
    messages: 12,
    operations: 160,
    instantsEvery: 1_000_000,
  });
  base = await serverReplayBase(r.access);
  [ann, ben] = r.emails as [string, string];
}, 600_000);

afterAll(async () => {
  await r?.stop();
});

/** The options that replay the lab's logs onto `email` as it is now. */
async function replayOptions(email: string): Promise<PlayOptions> {
  const start = await r.digest(email);
  const box = {
    sourceId: start.mailboxId,
    mailboxId: start.mailboxId,
    groupDb: mailboxGroupDb(start.mailboxId, base.mailboxGroups),
    accountId: start.accountId,
    email,
  };
  const logs = selectLogs([
    ...(await targetRedoLogs(r.target)),
    ...(await serverRedoLogs(r.access, '/nonexistent')),
  ]);
  return { ...base, logs: logs.logs, mailboxes: new Map([[start.mailboxId, box]]) };
}

/** `email` back at the full (rows, blobs, index), and the options that replay the lab's logs onto it. */
async function atFull(email: string): Promise<PlayOptions> {
  const back = await runRestore(r.access, { target: r.target, accounts: [email], fullOnly: true });
  expect(back.status).toBe('ok');
  return replayOptions(email);
}

describe('replay removes the blobs no row refers to', () => {
  let uninterrupted: MailboxDigest;

  it('a replay stopped between a committed delete and its unlink: the rerun removes the blob', async () => {
    const whole = await playRedo(await atFull(ann));
    expect(whole.errors).toEqual([]);
    expect(whole.orphanBlobsRemoved).toBe(0);
    uninterrupted = await r.digest(ann);

    // The run dies right after the first commit that deleted items, before their blobs go: the
    // real file system, with the unlink failing where the SIGKILL of failover-kill.test.ts lands.
    const options = await atFull(ann);
    const asked: string[] = [];
    const killed = {
      ...options,
      files: {
        ...options.files,
        removeFiles: async (files: string[]) => {
          asked.push(...files);
          throw new Error('killed before the unlink');
        },
      },
    };
    await expect(playRedo(killed)).rejects.toThrow('killed before the unlink');
    const left = [...new Set(asked)].filter((f) => fs.existsSync(f));
    expect(left.length, 'the lab logs delete some of ann’s messages').toBeGreaterThan(0);

    const rerun = await playRedo(options);
    expect(rerun.errors).toEqual([]);
    expect(rerun.orphanBlobsRemoved).toBe(left.length);
    for (const file of left) expect(fs.existsSync(file), file).toBe(false);
    const after = await r.digest(ann);
    expect(diffDigests(uninterrupted, after)).toEqual([]);
  });

  it('keeps current and revision blobs, files not named like a blob, and mailboxes not replayed', async () => {
    const start = await r.digest(ann);
    const other = await r.digest(ben);
    const groupDb = mailboxGroupDb(start.mailboxId, base.mailboxGroups);
    const [items] = await r.db.query<RowDataPacket[]>(
      `SELECT id, size, locator, blob_digest, mod_content FROM \`${groupDb}\`.mail_item
        WHERE mailbox_id = ? AND type = 5 AND blob_digest IS NOT NULL ORDER BY id LIMIT 1`,
      [start.mailboxId],
    );
    const item = items[0]!;
    const volume = base.volumes.find((v) => String(v.id) === String(item.locator))!;
    const current = blobPath(volume, start.mailboxId, Number(item.id), Number(item.mod_content));
    // Revision 1 of the item, its content changed before the current one (as a document edit leaves it).
    const modContent = Number(item.mod_content) - 1;
    const revisionBlob = blobPath(volume, start.mailboxId, Number(item.id), modContent);
    const notABlob = path.join(path.dirname(current), 'notes.txt');
    const noRevision = path.join(path.dirname(current), '424242.msg');
    const orphan = blobPath(volume, start.mailboxId, 424243, 7);
    const othersOrphan = blobPath(volume, other.mailboxId, 424243, 7);
    try {
      await r.db.query(
        `INSERT INTO \`${groupDb}\`.revision (mailbox_id, item_id, version, date, size, locator, blob_digest,
          name, metadata, mod_metadata, change_date, mod_content) VALUES (?, ?, 1, 0, ?, ?, ?, NULL, '', ?, 0, ?)`,
        [start.mailboxId, item.id, item.size, item.locator, item.blob_digest, modContent, modContent],
      );
      fs.copyFileSync(current, revisionBlob);
      fs.writeFileSync(notABlob, 'an administrator’s note');
      fs.writeFileSync(noRevision, 'not a name replay writes');
      fs.mkdirSync(path.dirname(othersOrphan), { recursive: true });
      fs.writeFileSync(othersOrphan, 'left in a mailbox this replay does not touch');
      const expected = await r.digest(ann);
      expect(Object.keys(expected.blobs).length).toBe(Object.keys(start.blobs).length + 3);
      fs.mkdirSync(path.dirname(orphan), { recursive: true });
      fs.writeFileSync(orphan, 'left by a killed replay');

      // Every op is already present: the rerun applies nothing and only sweeps.
      const rerun = await playRedo(await replayOptions(ann));
      expect(rerun.errors).toEqual([]);
      expect(rerun.applied).toBe(0);
      expect(rerun.orphanBlobsRemoved).toBe(1);
      expect(fs.existsSync(orphan)).toBe(false);
      for (const kept of [current, revisionBlob, notABlob, noRevision, othersOrphan])
        expect(fs.existsSync(kept), kept).toBe(true);
      expect(diffDigests(expected, await r.digest(ann))).toEqual([]);
    } finally {
      await r.db.query(`DELETE FROM \`${groupDb}\`.revision WHERE mailbox_id = ?`, [start.mailboxId]);
      for (const file of [revisionBlob, notABlob, noRevision, orphan, othersOrphan])
        fs.rmSync(file, { force: true });
    }
  });
});
