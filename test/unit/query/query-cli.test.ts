import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src-main/cli/main';
import { loadCatalog } from '../../../src-main/engine/catalog/catalog-load';
import { tmpSessions } from '../../../src-main/engine/query/live-sessions';
import { querySessions, type SessionFilter } from '../../../src-main/engine/query/session-query';
import { formatRestoreTime } from '../../../src-main/engine/query/time-format';
import { acquireLock, type TargetLock } from '../../../src-main/engine/target/lock';
import { formatLabel } from '../../../src-main/engine/target/labels';
import { StatusFile } from '../../../src-main/engine/target/session-status';
import { parseZimbraTime } from '../../../src-main/engine/target/zimbra-time';
import { tempTarget, writeSession } from './hand-made-target';
import { ANN, MIN, T0, writeScenario, type Scenario } from './scenario';

// Zimbra's dates are local: a zone with daylight saving, here and in the CLI processes.
process.env.TZ = 'Europe/Paris';
const ROOT = path.resolve(__dirname, '../../..');

/** Sessions at the edges: daylight saving starts (28 Mar 2021, 02:00 CET → 03:00 CEST) and ends
 * (31 Oct 2021, 03:00 CEST → 02:00 CET: 02:30 happens twice), and a year's turn that is still
 * the old year in GMT. */
const EDGES = {
  beforeSpring: Date.UTC(2021, 2, 28, 0, 59, 59, 999), // 01:59:59.999 CET
  afterSpring: Date.UTC(2021, 2, 28, 1, 0, 0, 0), // 03:00:00.000 CEST
  firstHalfPast2: Date.UTC(2021, 9, 31, 0, 30), // 02:30 CEST
  secondHalfPast2: Date.UTC(2021, 9, 31, 1, 30), // 02:30 CET
  newYear: Date.UTC(2019, 11, 31, 23, 30), // 2020/01/01 00:30 local; label says 2019
  summer2020: Date.UTC(2020, 5, 1, 12, 0),
};

let edges: string;
let scenarioTarget: string;
let scenario: Scenario;
let lock: TargetLock;
let liveLabel: string;

/** The real process, once or twice: what a shell sees (exit status, one stderr line). */
function spawnCli(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TZ: 'Europe/Paris' },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** main() in this process (a spawn costs seconds on a loaded machine), output captured. */
async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`)),
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => err.push(String(s)) > 0),
  ];
  process.exitCode = undefined;
  try {
    const status = await main(args);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  edges = tempTarget();
  const acct = { zimbraId: '11111111-2222-4333-8444-555555555555', email: 'ann@example.com', mailboxId: 7 };
  for (const [what, ms] of Object.entries(EDGES))
    writeSession(edges, {
      type: what === 'afterSpring' ? 'incremental' : 'full',
      startMs: ms,
      accounts: [{ ...acct, mailboxId: what === 'afterSpring' ? null : 7 }],
    });
  // A backup running now (its lock held by this process), and one a crash left behind.
  liveLabel = formatLabel('full', Date.UTC(2021, 11, 1, 2, 0));
  fs.mkdirSync(path.join(edges, 'tmp', liveLabel), { recursive: true });
  lock = await acquireLock(edges, { operation: 'backup', label: liveLabel });
  const status = new StatusFile(path.join(edges, 'tmp', liveLabel, 'status.json'), {
    label: liveLabel,
    type: 'full',
    startMs: Date.UTC(2021, 11, 1, 2, 0),
  });
  status.update({ accounts: { total: 5, done: 2, errors: 0 }, currentAccount: 'cat@example.com' });
  await status.flush();
  fs.mkdirSync(path.join(edges, 'tmp', formatLabel('incremental', Date.UTC(2021, 11, 2))), {
    recursive: true,
  });

  scenarioTarget = tempTarget();
  scenario = await writeScenario(scenarioTarget);
});

afterAll(async () => {
  await lock?.release();
  for (const dir of [edges, scenarioTarget]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function labels(filter: SessionFilter) {
  const { catalog } = await loadCatalog(edges, { parts: ['columns', 'holders'] });
  return querySessions(catalog, await tmpSessions(edges), filter).map((s) => s.startMs);
}

describe('zmbackupquery: sessions by label, type and local time', () => {
  it('cuts exactly at daylight saving edges, in local time', async () => {
    const at = (v: string) => parseZimbraTime(v);
    expect(await labels({ toMs: at('2021/03/28 01:59:59.999') })).toEqual([
      EDGES.newYear,
      EDGES.summer2020,
      EDGES.beforeSpring,
    ]);
    expect((await labels({ fromMs: at('2021/03/28 03:00:00') }))[0]).toBe(EDGES.afterSpring);
    // 02:30 on 31 October names its first occurrence (CEST), so both sessions are at or after it.
    expect(await labels({ fromMs: at('2021/10/31 02:30:00'), toMs: at('2021/10/31 03:00:00') })).toEqual([
      EDGES.firstHalfPast2,
      EDGES.secondHalfPast2,
    ]);
    expect(await labels({ fromMs: at('2021/10/31-02:00:00'), toMs: at('20211031.022959') })).toEqual([]);
  });

  it('reads the year in local time, whatever the GMT label says', async () => {
    expect(
      await labels({ fromMs: parseZimbraTime('2020/01/01'), toMs: parseZimbraTime('2020/12/31 23:59:59') }),
    ).toEqual([EDGES.newYear, EDGES.summer2020]);
    expect(await labels({ toMs: parseZimbraTime('2019/12/31 23:59:59') })).toEqual([]);
  });

  it('filters by type and label, and shows live and abandoned sessions', async () => {
    const { catalog } = await loadCatalog(edges, { parts: ['columns', 'holders'] });
    const tmp = await tmpSessions(edges);
    expect(querySessions(catalog, tmp, { type: 'incremental' }).map((s) => [s.startMs, s.status])).toEqual([
      [EDGES.afterSpring, 'completed'],
      [Date.UTC(2021, 11, 2), 'missing, incomplete, or invalid'],
    ]);
    const [live] = querySessions(catalog, tmp, { label: liveLabel });
    expect(live).toMatchObject({
      status: 'in progress',
      live: true,
      currentAccount: 'cat@example.com',
      accounts: { total: 5, completed: 2 },
      endMs: null,
    });
  });

  it('prints Zimbra-like blocks, and JSON for scripts', async () => {
    const text = await cli('zmbackupquery', '-t', edges, '-lb', liveLabel);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Label:   ${liveLabel}`);
    expect(text.stdout).toContain('Status:  in progress');
    expect(text.stdout).toContain('Currently backing up: cat@example.com');
    expect(text.stdout).toContain('Number of accounts: 2 out of 5 completed');
    expect(text.stdout).toMatch(/Started: Wed, 2021\/12\/01 03:00:00\.000 CET/);
    const json = await cli('zmbackupquery', '-t', edges, '--type', 'full', '-v', '--json');
    expect(json.status, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.sessions.filter((s: { live: boolean }) => !s.live)).toHaveLength(5);
    expect(out.sessions[0].accountList).toEqual([
      {
        email: 'ann@example.com',
        zimbraId: '11111111-2222-4333-8444-555555555555',
        status: 'COMPLETED',
        bytes: expect.any(Number),
      },
    ]);
  });
});

describe('zmbackupquery -a and plan on the command line', () => {
  it('suggests the instant before the EmptyFolder, and plan to it keeps the folder full', async () => {
    const q = await cli(
      'zmbackupquery',
      '-t',
      scenarioTarget,
      '-a',
      ANN.email,
      '--to',
      formatRestoreTime(T0 + 45 * MIN),
    );
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toContain('Destructive bursts in the window: 2');
    expect(q.stdout).toContain('EmptyFolder: 12 item(s) from /Projects (12)');
    const before = formatRestoreTime(scenario.emptyFolderAt - 1);
    expect(q.stdout).toContain(`-lb ${scenario.full1} -restoreToTime ${before}`);
    const p = await cli('plan', '-t', scenarioTarget, '-a', ANN.email, '--to', before, '--json');
    expect(p.status, p.stderr).toBe(0);
    const plan = JSON.parse(p.stdout);
    expect(plan.full.label).toBe(scenario.full1);
    expect(plan.folders.find((f: { path: string }) => f.path === '/Projects')).toEqual({
      path: '/Projects',
      atFull: 12,
      atTarget: 12,
    });
    const text = await cli(
      'plan',
      '-t',
      scenarioTarget,
      '-a',
      ANN.email,
      '--to',
      formatRestoreTime(T0 + 100 * MIN),
    );
    expect(text.status).toBe(1); // cannot reach it
    expect(text.stdout).toContain('reaches that time: NO');
    expect(text.stdout).toContain('latest reachable instant');
  });

  it('refuses bad input with one line and exit 2, and changes nothing', async () => {
    const fresh = tempTarget();
    try {
      writeSession(fresh, { type: 'full', startMs: T0, accounts: [{ ...ANN, snapshotMs: T0 }] });
      const before = fs.readdirSync(fresh).sort();
      const bad: Array<[string[], RegExp]> = [
        [['zmbackupquery', '-lb', 'full-2021'], /-lb full-2021: not a session label/],
        [['zmbackupquery', '-lb', 'full-20210230.000000.000'], /not a session label/],
        [['zmbackupquery', '--from', '2021/02/30'], /--from 2021\/02\/30: no such date or time/],
        [['zmbackupquery', '--to', '2021/03/28 02:30:00'], /no such date or time/], // skipped by DST
        [['zmbackupquery', '--from', 'yesterday'], /--from yesterday: not a date\/time/],
        [['zmbackupquery', '--from', '2021/07/02', '--to', '2021/07/01'], /is after --to/],
        [['zmbackupquery', '--type', 'weekly'], /--type weekly: full or incremental/],
        [['zmbackupquery', '-a', 'ann'], /-a ann: not an account address/],
        [
          ['zmbackupquery', '-a', 'nobody@example.com'],
          /-a nobody@example.com: no session in this target holds/,
        ],
        [
          ['zmbackupquery', '--burst-items', '0', '-a', ANN.email],
          /--burst-items 0: not a positive whole number/,
        ],
        [['plan', '-a', ANN.email], /--to: give the time/],
        [['plan', '--to', '2021/07/01'], /-a: give the account/],
        [['plan', '-a', ANN.email, '--to', '2021/13/01'], /--to 2021\/13\/01: no such date or time/],
        [['plan', '-a', 'nobody@example.com', '--to', '2021/07/01'], /no session in this target holds/],
      ];
      for (const [args, message] of bad) {
        const r = await cli(...args, '-t', fresh);
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stdout, args.join(' ')).toBe('');
        expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(r.stderr, args.join(' ')).toMatch(/^mailvault: /);
        expect(r.stderr, args.join(' ')).toMatch(message);
      }
      expect((await cli('zmbackupquery', '-t', 'relative/dir')).status).toBe(2);
      expect((await cli('zmbackupquery', '-t', path.join(fresh, 'nope'))).stderr).toMatch(
        /not a backup target/,
      );
      // The real process: exit status 2 and one line, no stack trace.
      const real = spawnCli('zmbackupquery', '-t', fresh, '--from', '2021/02/30');
      expect(real.status).toBe(2);
      expect(real.stderr).toBe('mailvault: --from 2021/02/30: no such date or time\n');
      expect(fs.readdirSync(fresh).sort()).toEqual(before); // no catalog/ either
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  }, 60_000);
});
