import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { blobDigest } from '../../src-main/engine/server/blob-digest';
import { blobPath, volumeFromRow } from '../../src-main/engine/server/volumes';
import { parseArchiveFileName, readRedoLog, type RedoOp } from '../../src-main/engine/redolog';
import { run } from '../../src-main/lab/exec';
import type { Lab } from '../../src-main/lab/lab';
import { setAccountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { homePaths } from '../../src-main/lab/zimbra-home';
import { digestAccount, ldapClient, pool, withLab } from '../helpers/lab-fixture';

/**
 * The foundation's promise: a lab server looks like a Zimbra mailbox server, and after simulated
 * activity its rows, blobs, hard links, index files and redo log all agree with each other.
 */
let lab: Lab;
let sim: MailboxSimulator;
let db: Pool;
let ldap: Client;

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  sim = await MailboxSimulator.open(server, { seed: 'foundation', rolloverBytes: 256 * 1024 });
  await sim.provision(['alice', 'bob', 'carol', 'dave', 'erin']);
  await sim.populate(30);
  await sim.run({ operations: 400 });
  db = pool(server);
  ldap = await ldapClient(server);
});

afterAll(async () => {
  await sim?.close().catch(() => undefined);
  await db?.end();
  await ldap?.unbind().catch(() => undefined);
  await lab?.stop();
});

async function redoOps(home: string): Promise<{
  files: Array<{ name: string; seq: number; headerSeq: number }>;
  ops: RedoOp[];
  damage: number;
}> {
  const p = homePaths(home);
  const names = fs
    .readdirSync(p.redoArchive)
    .sort((a, b) => parseArchiveFileName(a)!.seq - parseArchiveFileName(b)!.seq);
  const files: Array<{ name: string; seq: number; headerSeq: number }> = [];
  const ops: RedoOp[] = [];
  let damage = 0;
  for (const file of [...names.map((n) => path.join(p.redoArchive, n)), p.redoLog]) {
    for await (const event of readRedoLog(file, { withBodies: true })) {
      if (event.kind === 'header')
        files.push({
          name: path.basename(file),
          seq: parseArchiveFileName(path.basename(file))?.seq ?? -1,
          headerSeq: event.header.seq,
        });
      else if (event.kind === 'op') ops.push(event.op);
      else damage++;
    }
  }
  return { files, ops, damage };
}

describe('lab server', () => {
  it('is reachable with the stock tools: ssh, mariadb, ldapsearch', async () => {
    const s = lab.info.servers[0]!;
    const ssh = await run('ssh', [
      '-i',
      s.ssh.privateKeyPath,
      '-p',
      String(s.ssh.port),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      `${s.ssh.user}@${s.ssh.host}`,
      `cat ${s.zimbraHome}/conf/localconfig.xml`,
    ]);
    expect(ssh.stdout).toContain(`<value>${s.hostname}</value>`);
    const sql = await run('mariadb', [
      '--no-defaults',
      '-h',
      s.mariadb.host,
      '-P',
      String(s.mariadb.port),
      '-u',
      'zimbra',
      `--password=${s.mariadb.password}`,
      '-N',
      '-e',
      'SELECT COUNT(*) FROM zimbra.mailbox',
    ]);
    expect(sql.stdout.trim()).toBe('5');
    const search = await run('ldapsearch', [
      '-x',
      '-LLL',
      '-H',
      s.ldap.url,
      '-D',
      s.ldap.bindDn,
      '-w',
      s.ldap.password,
      '-b',
      s.ldap.baseDn,
      `(zimbraMailHost=${s.hostname})`,
      'zimbraMailDeliveryAddress',
    ]);
    expect(search.stdout.match(/^zimbraMailDeliveryAddress:/gm)).toHaveLength(5);
    // Anonymous clients see nothing, not even that the base exists (slapd answers noSuchObject).
    const anonymous = await run('ldapsearch', [
      '-x',
      '-LLL',
      '-H',
      s.ldap.url,
      '-b',
      s.ldap.baseDn,
      '(uid=alice)',
      'userPassword',
    ]).then(
      (r) => r.stdout,
      (e: Error) => e.message,
    );
    expect(anonymous).toMatch(/No such object \(32\)/);
    expect(anonymous).not.toContain('userPassword');
  });

  it('has Zimbra’s databases: zimbra and mboxgroup1..100 with every mailbox table', async () => {
    const [schemas] = await db.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mboxgroup%'",
    );
    expect(Number(schemas[0]!.n)).toBe(100);
    const [tables] = await db.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mboxgroup7'",
    );
    expect(tables.map((t) => t.t)).toEqual(
      expect.arrayContaining([
        'mail_item',
        'mail_item_dumpster',
        'revision',
        'tag',
        'tagged_item',
        'tombstone',
        'open_conversation',
        'appointment',
        'imap_folder',
        'imap_message',
        'pop3_message',
        'data_source_item',
      ]),
    );
  });
});

describe('simulated activity', () => {
  it('keeps every message row, blob file and digest in agreement, with no stray blobs', async () => {
    const [vol] = await db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume WHERE type = 1');
    const volume = volumeFromRow(vol[0]!);
    const [mailboxes] = await db.query<RowDataPacket[]>('SELECT id, group_id FROM zimbra.mailbox');
    let checked = 0;
    for (const mb of mailboxes) {
      const [items] = await db.query<RowDataPacket[]>(
        `SELECT id, size, blob_digest, mod_content FROM mboxgroup${mb.group_id}.mail_item WHERE mailbox_id = ? AND type = 5`,
        [mb.id],
      );
      const expected = new Set<string>();
      for (const item of items) {
        const file = blobPath(volume, Number(mb.id), Number(item.id), Number(item.mod_content));
        expected.add(file);
        const bytes = fs.readFileSync(file);
        expect(bytes.length).toBe(Number(item.size));
        expect(blobDigest(bytes)).toBe(item.blob_digest);
        checked++;
      }
      const onDisk = fs
        .readdirSync(path.join(volume.path, '0', String(mb.id), 'msg'), {
          recursive: true,
          withFileTypes: true,
        })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
      expect(new Set(onDisk)).toEqual(expected);
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('stores shared deliveries once, hard-linked into each recipient’s mailbox', async () => {
    const store = homePaths(lab.info.servers[0]!.zimbraHome).store;
    const files = fs
      .readdirSync(store, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.parentPath.includes('/msg'));
    const linked = files.map((e) => fs.statSync(path.join(e.parentPath, e.name))).filter((s) => s.nlink > 1);
    expect(linked.length).toBeGreaterThan(0);
    const inodes = new Map<number, number>();
    for (const s of linked) inodes.set(s.ino, (inodes.get(s.ino) ?? 0) + 1);
    for (const [, count] of inodes) expect(count).toBeGreaterThan(1);
  });

  it('keeps folder counters equal to the messages they hold', async () => {
    const [mailboxes] = await db.query<RowDataPacket[]>('SELECT id, group_id FROM zimbra.mailbox');
    for (const mb of mailboxes) {
      const [rows] = await db.query<RowDataPacket[]>(
        `SELECT f.id, f.size, f.unread, COUNT(m.id) AS n, COALESCE(SUM(m.unread), 0) AS u
           FROM mboxgroup${mb.group_id}.mail_item f
           LEFT JOIN mboxgroup${mb.group_id}.mail_item m ON m.mailbox_id = f.mailbox_id AND m.folder_id = f.id AND m.type = 5
          WHERE f.mailbox_id = ? AND f.type = 1 GROUP BY f.id, f.size, f.unread`,
        [mb.id],
      );
      for (const r of rows)
        expect({ folder: r.id, size: Number(r.size), unread: Number(r.unread) }).toEqual({
          folder: r.id,
          size: Number(r.n),
          unread: Number(r.u),
        });
    }
  });

  it('writes index segments with one commit point per mailbox', async () => {
    const index = homePaths(lab.info.servers[0]!.zimbraHome).index;
    await sim.sync();
    const [mailboxes] = await db.query<RowDataPacket[]>('SELECT id FROM zimbra.mailbox');
    for (const mb of mailboxes) {
      const files = fs.readdirSync(path.join(index, '0', String(mb.id), 'index', '0'));
      expect(files.filter((f) => f.startsWith('segments_'))).toHaveLength(1);
      expect(files.some((f) => f.endsWith('.cfs'))).toBe(true);
    }
  });

  it('logs every committed change in gap-free redo logs whose records match the rows', async () => {
    const { files, ops, damage } = await redoOps(lab.info.servers[0]!.zimbraHome);
    expect(damage).toBe(0);
    const archived = files.filter((f) => f.seq >= 0);
    expect(archived.length).toBeGreaterThan(1);
    archived.forEach((f, i) => {
      expect(f.headerSeq).toBe(f.seq);
      if (i > 0) expect(f.seq).toBe(archived[i - 1]!.seq + 1);
    });
    expect(files[files.length - 1]!.headerSeq).toBe(archived[archived.length - 1]!.seq + 1);

    const txn = (op: RedoOp) => `${op.header.txnId.time}:${op.header.txnId.counter}`;
    const committed = new Set(ops.filter((o) => o.op === 'CommitTxn').map(txn));
    const aborted = new Set(ops.filter((o) => o.op === 'AbortTxn').map(txn));
    expect(aborted.size).toBeGreaterThan(0);
    // Messages alive now = committed CreateMessage minus committed deletes and empties.
    const alive = new Map<string, string>();
    const folderOf = new Map<string, number>();
    for (const op of ops) {
      if (!committed.has(txn(op))) continue;
      const mbox = op.header.mailboxId;
      if (op.op === 'CreateMessage') {
        alive.set(`${mbox}:${op.msgId}`, op.digest);
        folderOf.set(`${mbox}:${op.msgId}`, op.folderId);
      } else if (op.op === 'DeleteItem') for (const id of op.ids) alive.delete(`${mbox}:${id}`);
      else if (op.op === 'MoveItem')
        for (const id of op.ids) folderOf.set(`${mbox}:${id}`, op.targetFolderId);
      else if (op.op === 'EmptyFolder')
        for (const [key, folder] of folderOf)
          if (key.startsWith(`${mbox}:`) && folder === op.folderId) alive.delete(key);
    }
    const [mailboxes] = await db.query<RowDataPacket[]>('SELECT id, group_id FROM zimbra.mailbox');
    const rows = new Map<string, string>();
    for (const mb of mailboxes) {
      const [items] = await db.query<RowDataPacket[]>(
        `SELECT id, blob_digest FROM mboxgroup${mb.group_id}.mail_item WHERE mailbox_id = ? AND type = 5`,
        [mb.id],
      );
      for (const item of items) rows.set(`${mb.id}:${item.id}`, String(item.blob_digest));
    }
    expect(rows).toEqual(alive);
    // An aborted delivery leaves no row; its item id is free again (Zimbra rolls the id counter
    // back with the transaction), so only ids no committed op reused are checked.
    const createdByCommit = new Set(
      ops
        .filter((o) => o.op === 'CreateMessage' && committed.has(txn(o)))
        .map((o) => o.op === 'CreateMessage' && `${o.header.mailboxId}:${o.msgId}`),
    );
    const abortedCreates = ops.filter((o) => o.op === 'CreateMessage' && aborted.has(txn(o)));
    for (const op of abortedCreates) {
      const key = op.op === 'CreateMessage' ? `${op.header.mailboxId}:${op.msgId}` : '';
      if (!createdByCommit.has(key)) expect(rows.has(key)).toBe(false);
    }
  });
});

describe('maintenance mode', () => {
  it('defers deliveries to an account in maintenance and delivers them after, losing none', async () => {
    const server = lab.info.servers[0]!;
    const erin = sim.mailboxes.get(`erin@${lab.domain}`)!;
    const before = await digestAccount(server, db, ldap, erin.email);
    await setAccountStatus(ldap, erin.email, 'maintenance');
    for (let i = 0; i < 5; i++) await sim.deliver([erin]);
    await sim.move(erin);
    expect(sim.deferredCount).toBe(5);
    const during = await digestAccount(server, db, ldap, erin.email);
    expect(diffDigests(before, during)).toEqual([]);
    expect(during.digest).toBe(before.digest);
    await setAccountStatus(ldap, erin.email, 'active');
    expect(await sim.flushDeferred()).toBe(0);
    const after = await digestAccount(server, db, ldap, erin.email);
    expect(Object.keys(after.rows['mboxgroup5.mail_item'] ?? {}).length).toBe(
      Object.keys(before.rows['mboxgroup5.mail_item'] ?? {}).length + 5,
    );
    expect(diffDigests(before, after).length).toBeGreaterThan(0);
  });
});
