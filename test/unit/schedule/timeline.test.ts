import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attemptsDir,
  listAttempts,
  startAttempt,
  type ListedAttempt,
} from '../../../src-main/engine/schedule/attempts';
import { defaultSchedule } from '../../../src-main/engine/schedule/schedule';
import { missedRuns, nextRuns } from '../../../src-main/engine/schedule/timeline';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tempTarget = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-attempts-'));
  dirs.push(dir);
  return dir;
};

const at = (d: number, h: number, m = 0) => new Date(2026, 11, d, h, m).getTime();

describe('the schedule on a timeline', () => {
  it("lists the next runs of Zimbra's default in time order", () => {
    // From Friday 4 December 2026 02:00: delete at midnight, full Saturday 01:00, then delete, incremental Sunday.
    const runs = nextRuns(defaultSchedule(), at(4, 2), 4).map((r) => [r.kind, r.atMs]);
    expect(runs).toEqual([
      ['delete', at(5, 0)],
      ['full', at(5, 1)],
      ['delete', at(6, 0)],
      ['incremental', at(6, 1)],
    ]);
  });

  it('shows a planned run with no attempt as missed, and one with an attempt as not', () => {
    const base = { server: 's', hostname: 'h', pid: 1, bootId: null, processStartTicks: null, exitCode: 0 };
    const attempt = (kind: ListedAttempt['kind'], startMs: number): ListedAttempt => ({
      ...base,
      id: String(startMs),
      kind,
      startMs,
      endMs: startMs + 1000,
      status: 'succeeded',
      labels: [],
      error: null,
      report: null,
    });
    // Saturday 5th to Monday 7th 12:00: fulls Sat 01:00; incrementals Sun and Mon 01:00; deletes Sun, Mon 00:00.
    const attempts = [
      attempt('full', at(5, 1) + 20_000),
      attempt('delete', at(6, 0) + 5_000),
      attempt('incremental', at(7, 1) + 60_000),
    ];
    const missed = missedRuns(defaultSchedule(), attempts, at(5, 0, 30), at(7, 12)).map((r) => [
      r.kind,
      r.atMs,
    ]);
    expect(missed).toEqual([
      ['incremental', at(6, 1)],
      ['delete', at(7, 0)],
    ]);
    // A run still within its grace time is not missed yet.
    expect(missedRuns(defaultSchedule(), [], at(7, 0, 30), at(7, 1, 5))).toEqual([]);
  });
});

describe('attempt records', () => {
  it('records a start and an end, in the target, for the console to list', async () => {
    const target = tempTarget();
    const recorder = await startAttempt(target, { kind: 'full', server: 'mail.example.com' });
    let [listed] = await listAttempts(target);
    expect(listed).toMatchObject({
      status: 'running',
      kind: 'full',
      server: 'mail.example.com',
      pid: process.pid,
    });
    await recorder.finish({ exitCode: 1, labels: [], error: 'The backup target is in use', report: null });
    [listed] = await listAttempts(target);
    expect(listed).toMatchObject({ status: 'failed', exitCode: 1, error: 'The backup target is in use' });
    expect(listed!.endMs).toBeGreaterThanOrEqual(listed!.startMs);
    const ok = await startAttempt(target, { kind: 'incremental', server: 's' });
    await ok.finish({
      exitCode: 0,
      labels: ['incr-20261201.010000.000'],
      error: null,
      report: { sent: true, to: ['a@b.c'], error: null },
    });
    expect((await listAttempts(target)).map((a) => a.status)).toEqual(['failed', 'succeeded']);
  });

  it('shows a run whose process died as interrupted, and skips records it cannot read', async () => {
    const target = tempTarget();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    const recorder = await startAttempt(target, { kind: 'delete', server: 's' });
    const file = path.join(attemptsDir(target), `${recorder.attempt.id}.json`);
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...record, pid: deadPid, processStartTicks: null }));
    fs.writeFileSync(path.join(attemptsDir(target), 'zz-garbage.json'), '{"half":');
    const listed = await listAttempts(target);
    expect(listed.map((a) => a.status)).toEqual(['interrupted']);
    expect(await listAttempts(path.join(target, 'none'))).toEqual([]);
  });
});
