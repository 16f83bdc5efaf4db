import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { runIncrementalBackup } from '../../src-main/engine/backup/incremental-backup';
import { loadCatalog } from '../../src-main/engine/catalog/catalog-load';
import { resolveAccount } from '../../src-main/engine/plan/account-ref';
import { planRestore } from '../../src-main/engine/plan/restore-plan';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { queryAccount, type BurstAdvice } from '../../src-main/engine/query/account-query';
import { mailboxGroupDb } from '../../src-main/engine/server/volumes';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import type { Manifest } from '../../src-main/engine/target/manifest';
import { LocalTransport } from '../../src-main/engine/transport';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator, type ActivityKind } from '../../src-main/lab/simulator/simulator';
import type { SimMailbox } from '../../src-main/lab/simulator/mailbox';
import { pool, withLab } from '../helpers/lab-fixture';

/**
 * Issue 5's best point in time and plan on a target the real engine wrote: a full backup, a day's
 * activity, an accidental "empty folder" of the Inbox, more activity, an incremental. The query
 * must suggest an instant before the EmptyFolder, and the plan to that instant must name the full
 * and the redo logs up to it and predict, folder by folder, the message counts the lab's rows had
 * at that instant (read from MariaDB just before the EmptyFolder ran).
 */
const INBOX = 2;
/** The simulator's traffic without folder creation (so the Inbox keeps no subfolders) or emptying. */
const WEIGHTS: Record<ActivityKind, number> = {
  deliver: 40,
  deliverShared: 6,
  read: 14,
  flag: 8,
  move: 10,
  tag: 6,
  delete: 9,
  createFolder: 0,
  renameFolder: 0,
  emptyFolder: 0,
};

let lab: Lab;
let sim: MailboxSimulator;
let access: ServerAccess;
let db: Pool;
let target: string;
let full: Manifest;
let ann: SimMailbox;
let rowsAtFull: Map<string, number>;
let rowsBeforeEmpty: Map<string, number>;
let emptiedAt: number;

/** Messages per folder path of a mailbox, straight from the lab's rows. */
async function folderCounts(m: { mailboxId: number }): Promise<Map<string, number>> {
  const table = `${mailboxGroupDb(m.mailboxId, 100)}.mail_item`;
  const [folders] = await db.query<RowDataPacket[]>(
    `SELECT id, name, parent_id FROM ${table} WHERE mailbox_id = ? AND type = 1`,
    [m.mailboxId],
  );
  const [counts] = await db.query<RowDataPacket[]>(
    `SELECT folder_id, COUNT(*) AS n FROM ${table} WHERE mailbox_id = ? AND type = 5 GROUP BY folder_id`,
    [m.mailboxId],
  );
  const byId = new Map(folders.map((f) => [Number(f.id), f]));
  const pathOf = (id: number): string | null => {
    const names: string[] = [];
    for (let f = byId.get(id); f; f = byId.get(Number(f.parent_id))) {
      if (Number(f.id) === 1) return `/${names.reverse().join('/')}`;
      if (Number(f.parent_id) === Number(f.id)) return null; // ROOT is its own parent
      names.push(String(f.name));
    }
    return null;
  };
  const out = new Map<string, number>();
  for (const f of folders) {
    const p = Number(f.id) === 1 ? null : pathOf(Number(f.id));
    if (p) out.set(p, 0);
  }
  for (const c of counts) out.set(pathOf(Number(c.folder_id))!, Number(c.n));
  return out;
}

async function activity(steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await sim.step(WEIGHTS);
}

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  db = pool(server);
  sim = await MailboxSimulator.open(server, { seed: 'query' });
  ann = (await sim.provision(['ann', 'ben']))[0]!;
  await sim.populate(12);
  access = await openServerAccess(new LocalTransport({ name: server.hostname }), {
    zimbraHome: server.zimbraHome,
    local: true,
  });
  target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-query-lab-'));
  full = await runFullBackup(access, {
    target,
    accounts: 'all',
    zip: 'store',
    blobs: true,
    index: false,
    engineVersion: 'test',
  });
  rowsAtFull = await folderCounts(ann!);

  await activity(25);
  await sim.redo.rollover();
  await activity(25);
  // The accident: the whole Inbox emptied. The simulator may abort or abandon a change (as
  // mailboxd can); then the user tries again. The rows are read just before the try that commits.
  // Typed for Trash by default; any folder id is what Zimbra takes.
  const emptyFolder = sim.emptyFolder.bind(sim) as unknown as (
    m: SimMailbox,
    folderId: number,
  ) => Promise<void>;
  for (let attempt = 0; attempt < 5; attempt++) {
    rowsBeforeEmpty = await folderCounts(ann!);
    expect(rowsBeforeEmpty.get('/Inbox')).toBeGreaterThan(0);
    emptiedAt = Date.now();
    await emptyFolder(ann!, INBOX);
    if ((await folderCounts(ann!)).get('/Inbox') === 0) break;
  }
  expect((await folderCounts(ann!)).get('/Inbox')).toBe(0);
  await activity(15);
  await sim.redo.rollover();
  await runIncrementalBackup(access, { target, accounts: 'all', engineVersion: 'test' });
});

afterAll(async () => {
  await sim?.close().catch(() => undefined);
  await access?.close();
  await db?.end();
  await lab?.stop();
  if (target) fs.rmSync(target, { recursive: true, force: true });
});

describe('best point in time and plan on an engine-written target', () => {
  let burst: BurstAdvice;

  it('suggests an instant just before the EmptyFolder, from the full and the redo logs after it', async () => {
    const { catalog } = await loadCatalog(target, { parts: ['holders'] });
    const ref = resolveAccount(catalog, ann.email);
    // A 1 ms gap keeps the simulator's quick single deletes out of the EmptyFolder's group.
    const result = await queryAccount(target, catalog, ref, { toMs: Date.now(), bursts: { gapMs: 1 } });
    expect(result.sessions.map((s) => s.type)).toEqual(['full', 'incremental']);
    expect(result.bestPointInTime).toMatchObject({ full: full.label });
    const emptied = result.bursts.filter((b) => b.ops.some((o) => o.kind === 'EmptyFolder'));
    expect(emptied).toHaveLength(1);
    burst = emptied[0]!;
    expect(burst.summary).toBe(
      `EmptyFolder: ${rowsBeforeEmpty.get('/Inbox')} item(s) from /Inbox (${rowsBeforeEmpty.get('/Inbox')})`,
    );
    expect(burst.restoreToMs).toBeGreaterThanOrEqual(emptiedAt - 1);
    expect(burst.restoreToMs).toBeLessThan(burst.ops[0]!.commitMs);
    expect(burst.restore).toMatchObject({ full: full.label, complete: true, atMs: burst.restoreToMs });
  });

  it('plans that restore: the full, the logs up to the EmptyFolder, and the counts the rows had', async () => {
    const { catalog } = await loadCatalog(target, { parts: ['holders'] });
    const plan = await planRestore(target, catalog, resolveAccount(catalog, ann.email), burst.restoreToMs);
    expect(plan.full.label).toBe(full.label);
    expect(plan.reachable).toBe(true);
    const seqs = plan.redoLogs.map((l) => l.seq);
    expect(seqs[0]).toBe(full.redo.seq!.min);
    expect(seqs).toEqual(seqs.map((_, k) => seqs[0]! + k)); // no gap
    // The last log is the one holding the EmptyFolder: it began before it and ended after.
    expect(plan.redoLogs.at(-1)!.lastOpMs!).toBeGreaterThan(burst.restoreToMs);
    expect(plan.replay.total).toBeGreaterThan(0);
    expect(rowsBeforeEmpty).not.toEqual(rowsAtFull); // the replay has work to do
    const predicted = new Map(plan.folders!.map((f) => [f.path, f.atTarget ?? 0]));
    expect(predicted).toEqual(rowsBeforeEmpty);
    expect(new Map(plan.folders!.map((f) => [f.path, f.atFull ?? 0]))).toEqual(rowsAtFull);
  });

  it('restoring to the suggested point (into a new account) brings the emptied messages back', async () => {
    const originalBefore = await folderCounts(ann);
    const result = await runRestore(access, {
      target,
      accounts: [ann.email],
      restoreToTime: burst.restoreToMs,
      createAccount: { prefix: 'copy_' },
    });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    const copy = result.accounts[0]!.restoredAs!;
    const [rows] = await db.query<RowDataPacket[]>('SELECT id FROM zimbra.mailbox WHERE account_id = ?', [
      copy.zimbraId,
    ]);
    const restored = await folderCounts({ mailboxId: Number(rows[0]!.id) });
    expect(restored.get('/Inbox')).toBeGreaterThan(0);
    expect(restored).toEqual(rowsBeforeEmpty);
    expect(await folderCounts(ann)).toEqual(originalBefore); // the original is untouched
  });

  it('plans a full-only restore: nothing replayed, exactly the rows at the full', async () => {
    const { catalog } = await loadCatalog(target, { parts: ['holders'] });
    const snapshot = full.accounts.find((a) => a.email === ann.email)!.maintenance!.startMs;
    const plan = await planRestore(target, catalog, resolveAccount(catalog, ann.email), snapshot);
    expect(plan).toMatchObject({ reachable: true, replay: { total: 0 } });
    expect(new Map(plan.folders!.map((f) => [f.path, f.atTarget ?? 0]))).toEqual(rowsAtFull);
    // A time after the last copied log cannot be reached from this target.
    const late = await planRestore(target, catalog, resolveAccount(catalog, ann.email), Date.now() + 60_000);
    expect(late.reachable).toBe(false);
    expect(late.restoresToMs).toBe(Math.max(...late.redoLogs.map((l) => l.lastOpMs ?? 0)));
  });
});
