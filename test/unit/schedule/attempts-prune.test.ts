import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attemptsDir,
  listAttempts,
  pruneAttempts,
  startAttempt,
} from '../../../src-main/engine/schedule/attempts';

/**
 * Attempt records are pruned: younger than 90 days they all stay; of older ones the newest 20 of
 * each server stay; a running record is never removed. A finished run prunes.
 */
const DAY = 24 * 3600_000;
const dirs: string[] = [];
const tempTarget = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-attempts-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function record(target: string, server: string, startMs: number, finish = true) {
  const recorder = await startAttempt(target, { kind: 'incremental', server, nowMs: startMs });
  if (!finish) return recorder.attempt;
  // Written as finished without the prune finish() does, so the test decides when to prune.
  const file = path.join(attemptsDir(target), `${recorder.attempt.id}.json`);
  const done = { ...recorder.attempt, status: 'succeeded', exitCode: 0, endMs: startMs + 1000 };
  fs.writeFileSync(file, JSON.stringify(done));
  return done;
}

describe('attempt pruning', () => {
  it('keeps 90 days, and the newest 20 per server beyond that', async () => {
    const target = tempTarget();
    const now = Date.UTC(2026, 11, 1, 12);
    // Server a: 30 old records (100..129 days ago) and 5 recent ones; server b: 3 old ones.
    for (let i = 0; i < 30; i++) await record(target, 'a', now - (100 + i) * DAY);
    for (let i = 0; i < 5; i++) await record(target, 'a', now - (i + 1) * DAY);
    for (let i = 0; i < 3; i++) await record(target, 'b', now - (200 + i) * DAY);
    const running = await record(target, 'a', now - 300 * DAY, false);

    const removed = await pruneAttempts(target, now);
    const left = await listAttempts(target);
    // a keeps its 5 recent and the 15 newest old ones (20 newest in all) and the running one.
    expect(removed).toHaveLength(15);
    const leftA = left.filter((x) => x.server === 'a');
    expect(leftA).toHaveLength(21);
    expect(leftA.some((x) => x.id === running.id)).toBe(true);
    const oldestKept = Math.min(...leftA.filter((x) => x.id !== running.id).map((x) => x.startMs));
    expect(oldestKept).toBe(now - 114 * DAY);
    expect(left.filter((x) => x.server === 'b')).toHaveLength(3);
    // Again: nothing more to remove.
    expect(await pruneAttempts(target, now)).toEqual([]);
  });

  it('a finished run prunes the records', async () => {
    const target = tempTarget();
    const now = Date.now();
    for (let i = 0; i < 25; i++) await record(target, 's', now - (100 + i) * DAY);
    const recorder = await startAttempt(target, { kind: 'full', server: 's', nowMs: now });
    await recorder.finish({ exitCode: 0, labels: [], error: null, report: null });
    const left = await listAttempts(target);
    expect(left).toHaveLength(20);
    expect(left.at(-1)!.id).toBe(recorder.attempt.id);
  });
});
