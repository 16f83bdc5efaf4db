import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src-main/engine/catalog/catalog-load';
import { resolveAccount } from '../../../src-main/engine/plan/account-ref';
import { planRestore } from '../../../src-main/engine/plan/restore-plan';
import { queryAccount } from '../../../src-main/engine/query/account-query';
import { tempTarget } from './hand-made-target';
import { ANN, MIN, T0, writeScenario, type Scenario } from './scenario';

let target: string;
let scenario: Scenario;
beforeEach(async () => {
  target = tempTarget();
  scenario = await writeScenario(target);
});
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

async function ask(window: { fromMs?: number; toMs: number }, by = ANN.email) {
  const { catalog } = await loadCatalog(target, { parts: ['holders'] });
  return queryAccount(target, catalog, resolveAccount(catalog, by), window);
}

async function plan(toMs: number) {
  const { catalog } = await loadCatalog(target, { parts: ['holders'] });
  return planRestore(target, catalog, resolveAccount(catalog, ANN.email), toMs);
}

const folder = (p: Awaited<ReturnType<typeof plan>>, name: string) => p.folders!.find((f) => f.path === name);

describe('zmbackupquery -a: sessions and the best point in time', () => {
  it('lists every session holding the account, by email or zimbraId, inside the window', async () => {
    const all = await ask({ toMs: T0 + 200 * MIN });
    expect(all.sessions.map((s) => s.label)).toEqual([scenario.full1, scenario.incr1, scenario.full2]);
    expect((await ask({ toMs: T0 + 200 * MIN }, ANN.zimbraId.toUpperCase())).sessions).toHaveLength(3);
    const window = await ask({ fromMs: T0 + 30 * MIN, toMs: T0 + 90 * MIN });
    expect(window.sessions.map((s) => s.label)).toEqual([scenario.incr1]);
    // Zimbra's way to the base of a restore: -a <account> --type full --to <time>.
    const { catalog } = await loadCatalog(target, { parts: ['holders'] });
    const fulls = await queryAccount(target, catalog, resolveAccount(catalog, ANN.email), {
      type: 'full',
      toMs: T0 + 200 * MIN,
    });
    expect(fulls.sessions.map((s) => s.label)).toEqual([scenario.full1, scenario.full2]);
  });

  it('takes the latest full at or before the window end, plus the redo logs after it', async () => {
    const r = await ask({ toMs: T0 + 55 * MIN });
    expect(r.bestPointInTime).toMatchObject({
      full: scenario.full1,
      // Log 6 ends at +51 min: what came after is not in the target, so that is as far as it goes.
      atMs: scenario.logs[2]!.lastOpMs,
      redoSeq: [4, 6],
      complete: false,
    });
    const inside = await ask({ toMs: T0 + 45 * MIN });
    expect(inside.bestPointInTime).toMatchObject({
      full: scenario.full1,
      atMs: T0 + 45 * MIN,
      complete: true,
    });
    const later = await ask({ toMs: T0 + 130 * MIN });
    expect(later.bestPointInTime?.full).toBe(scenario.full2);
  });

  it('finds the EmptyFolder and the burst of deletes, and nothing else, with what happened', async () => {
    const r = await ask({ toMs: T0 + 45 * MIN });
    expect(r.bursts).toHaveLength(2);
    const [emptied, deletes] = r.bursts;
    expect(emptied!.restoreToMs).toBe(scenario.emptyFolderAt - 1);
    expect(emptied!.items).toBe(12);
    expect(emptied!.summary).toBe('EmptyFolder: 12 item(s) from /Projects (12)');
    expect(emptied!.restore).toMatchObject({
      full: scenario.full1,
      complete: true,
      atMs: scenario.emptyFolderAt - 1,
    });
    expect(deletes!.startMs).toBe(scenario.deleteBurstAt);
    expect(deletes!.items).toBe(12);
    expect(deletes!.summary).toBe('DeleteItem: 12 item(s) in 12 ops from /Inbox (12)');
    expect(deletes!.restore?.atMs).toBe(scenario.deleteBurstAt - 1);
  });

  it('looks only inside the window, and follows the thresholds', async () => {
    const r = await ask({ fromMs: T0 + 15 * MIN, toMs: T0 + 45 * MIN });
    expect(r.bursts.map((b) => b.startMs)).toEqual([scenario.deleteBurstAt]);
    const { catalog } = await loadCatalog(target, { parts: ['holders'] });
    const ref = resolveAccount(catalog, ANN.email);
    const strict = await queryAccount(target, catalog, ref, { toMs: T0 + 45 * MIN, bursts: { minItems: 5 } });
    // The 5 messages moved to Trash now count; the single delete still does not.
    expect(strict.bursts.map((b) => b.summary)).toEqual([
      'EmptyFolder: 12 item(s) from /Projects (12)',
      'MoveItem to Trash: 5 item(s) from /Inbox (5)',
      'DeleteItem: 12 item(s) in 12 ops from /Inbox (12)',
    ]);
    const tight = await queryAccount(target, catalog, ref, { toMs: T0 + 45 * MIN, bursts: { gapMs: 1_000 } });
    expect(tight.bursts).toHaveLength(1); // the deletes, 2 s apart, no longer group
  });

  it('says so when a redo log is missing, and stops the coverage before it', async () => {
    fs.rmSync(path.join(target, 'redologs', scenario.logs[1]!.name));
    const r = await ask({ toMs: T0 + 45 * MIN });
    expect(r.bestPointInTime).toMatchObject({
      complete: false,
      redoSeq: [4, 4],
      atMs: scenario.logs[0]!.lastOpMs,
    });
    expect(r.bestPointInTime!.missing).toContain('is missing');
    expect(r.bursts).toEqual([]);
    expect(r.notes.join('\n')).toContain('after sequence 4');
  });
});

describe('plan: offline restore planning', () => {
  it('to just before the EmptyFolder: full F1 and logs 4..5, Projects still holds its 12 messages', async () => {
    const p = await plan(scenario.emptyFolderAt - 1);
    expect(p.full.label).toBe(scenario.full1);
    expect(p.reachable).toBe(true);
    expect(p.redoLogs.map((l) => l.seq)).toEqual([4, 5]);
    expect(p.replay).toEqual({ total: 2, byKind: { CreateMessage: 2 } });
    expect(folder(p, '/Projects')).toEqual({ path: '/Projects', atFull: 12, atTarget: 12 });
    expect(folder(p, '/Inbox')).toEqual({ path: '/Inbox', atFull: 20, atTarget: 22 });
    expect(p.messages).toEqual({ atFull: 32, atTarget: 34 });
    expect(p.bytesToRead).toBe(p.full.bytes + scenario.logs[0]!.bytes + scenario.logs[1]!.bytes);
  });

  it('to after the last burst: every committed op once, none aborted or unfinished', async () => {
    const p = await plan(T0 + 50 * MIN + 500);
    expect(p.reachable).toBe(true);
    expect(p.redoLogs.map((l) => l.seq)).toEqual([4, 5, 6]);
    expect(p.replay).toEqual({
      total: 18,
      byKind: { CreateMessage: 3, EmptyFolder: 1, DeleteItem: 13, MoveItem: 1 },
    });
    expect(folder(p, '/Inbox')).toMatchObject({ atFull: 20, atTarget: 5 });
    expect(folder(p, '/Trash')).toMatchObject({ atFull: 0, atTarget: 5 });
    expect(folder(p, '/Projects')).toMatchObject({ atFull: 12, atTarget: 0 });
  });

  it('beyond the logs: cannot reach it, and says the latest instant it can', async () => {
    const p = await plan(T0 + 100 * MIN);
    expect(p.full.label).toBe(scenario.full1);
    expect(p.reachable).toBe(false);
    expect(p.restoresToMs).toBe(scenario.logs[2]!.lastOpMs);
    expect(p.missing).toMatch(/end before that time/);
  });

  it('with a redo log missing: cannot reach it, names the log, stops before it', async () => {
    fs.rmSync(path.join(target, 'redologs', scenario.logs[1]!.name));
    const p = await plan(T0 + 45 * MIN);
    expect(p.reachable).toBe(false);
    expect(p.missing).toBe(`redologs/${scenario.logs[1]!.name} is missing`);
    expect(p.redoLogs.map((l) => l.seq)).toEqual([4]);
    expect(p.restoresToMs).toBe(scenario.logs[0]!.lastOpMs);
    expect(folder(p, '/Projects')).toMatchObject({ atTarget: 12 });
  });

  it('from the later full when the time is after it; refuses a time before any full', async () => {
    expect((await plan(T0 + 125 * MIN)).full.label).toBe(scenario.full2);
    await expect(plan(T0 - MIN)).rejects.toThrow(/no full backup of ann@example.com at or before that time/);
  });
});
