import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveFileName } from '../../../src-main/engine/redolog/archive-names';
import {
  deleteSessions,
  parseDeleteArgument,
  planDelete,
} from '../../../src-main/engine/target/delete-sessions';
import { acquireLock } from '../../../src-main/engine/target/lock';
import type { RedoLogRecord } from '../../../src-main/engine/target/manifest';
import { listSessions } from '../../../src-main/engine/target/session-list';
import { SessionWriter } from '../../../src-main/engine/target/session-writer';
import { parseAge, parseZimbraTime } from '../../../src-main/engine/target/zimbra-time';
import { SERVER_ID, tempDir } from './fixtures';

// Local time matters here (Zimbra's dates are local): a zone with daylight saving.
process.env.TZ = 'Europe/Paris';
const ROOT = path.resolve(__dirname, '../../..');

let target: string;
beforeEach(() => {
  target = tempDir();
});
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

/** A committed session started at `startMs`; an incremental brings in the given redo logs. */
async function session(
  type: 'full' | 'incremental',
  startMs: number,
  redo: { seq: [number, number] | null; logs?: number[] },
) {
  const lock = await acquireLock(target, { operation: 'test' });
  try {
    const writer = await SessionWriter.create(target, { type, lock, now: () => startMs });
    await writer.writeFile('sys/localconfig.xml', '<localconfig/>\n');
    const redoLogs: RedoLogRecord[] = [];
    for (const seq of redo.logs ?? []) {
      const name = archiveFileName(startMs - 1000 + seq, seq);
      const data = Buffer.from(`log ${seq}`);
      fs.mkdirSync(path.join(target, 'redologs'), { recursive: true });
      fs.writeFileSync(path.join(target, 'redologs', name), data);
      const sha256 = crypto.createHash('sha256').update(data).digest('hex');
      redoLogs.push({ name, seq, bytes: data.length, sha256, firstOpMs: null, lastOpMs: null });
    }
    const manifest = await writer.commit({
      server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
      engineVersion: 'test',
      status: 'completed',
      redo: { seq: redo.seq ? { min: redo.seq[0], max: redo.seq[1] } : null, timeMs: null },
      options: { zip: 'store', blobs: true, index: true },
      accounts: [],
      errors: [],
      redoLogs,
      endMs: startMs + 500,
    });
    return manifest.label;
  } finally {
    await lock.release();
  }
}

const at = (y: number, mo: number, d: number, h = 12) => new Date(y, mo - 1, d, h).getTime();

describe('Zimbra date/times and ages', () => {
  it('reads the nine formats, the date-only one and the seed one, in local time', () => {
    const t = new Date(2021, 6, 12, 15, 59, 51, 123).getTime();
    const s = new Date(2021, 6, 12, 15, 59, 51).getTime();
    for (const v of [
      '2021/07/12 15:59:51 123',
      '2021/07/12 15:59:51.123',
      '2021/07/12-15:59:51-123',
      '20210712.155951.123',
      '20210712155951123',
      '2021/07/12 15:59:51:123',
    ])
      expect(parseZimbraTime(v), v).toBe(t);
    for (const v of ['2021/07/12 15:59:51', '2021/07/12-15:59:51', '20210712.155951', '20210712155951'])
      expect(parseZimbraTime(v), v).toBe(s);
    expect(parseZimbraTime('2021/07/12')).toBe(new Date(2021, 6, 12).getTime());
  });

  it('knows daylight saving: the skipped hour does not exist, the repeated one is read', () => {
    // Paris, 2021-03-28: 02:00 → 03:00; 2021-10-31: 03:00 → 02:00.
    expect(() => parseZimbraTime('2021/03/28 02:30:00')).toThrow('no such date or time');
    expect(parseZimbraTime('2021/03/28 03:30:00') - parseZimbraTime('2021/03/28 01:30:00')).toBe(3600_000);
    expect(parseZimbraTime('2021/10/31 03:30:00') - parseZimbraTime('2021/10/31 01:30:00')).toBe(
      3 * 3600_000,
    );
  });

  it('refuses what is not a date', () => {
    expect(() => parseZimbraTime('2021/02/30')).toThrow('2021/02/30: no such date or time');
    expect(() => parseZimbraTime('yesterday')).toThrow('yesterday: not a date/time');
  });

  it('counts ages back on the local calendar, across years and daylight saving', () => {
    const now = new Date(2022, 2, 31, 12).getTime(); // 2022-03-31, after the spring change
    expect(new Date(parseAge('7d', now)!)).toEqual(new Date(2022, 2, 24, 12));
    expect(new Date(parseAge('1m', now)!)).toEqual(new Date(2022, 1, 28, 12)); // clamped, as Java's Calendar
    expect(new Date(parseAge('1y', now)!)).toEqual(new Date(2021, 2, 31, 12));
    expect(new Date(parseAge('14m', now)!)).toEqual(new Date(2021, 0, 31, 12));
    expect(parseAge('7w', now)).toBeNull();
  });
});

describe('zmbackup -del', () => {
  it('by label deletes exactly that session and every earlier one', async () => {
    const labels = [
      await session('full', at(2020, 12, 31, 23), { seq: [0, 1] }),
      await session('incremental', at(2021, 1, 1, 1), { seq: [0, 2], logs: [0, 1, 2] }),
      await session('full', at(2021, 3, 28, 4), { seq: [3, 3] }),
      await session('incremental', at(2021, 10, 31, 2), { seq: [3, 4], logs: [3, 4] }),
    ];
    const plan = await deleteSessions(target, parseDeleteArgument(labels[1]!));
    expect(plan.sessions.map((s) => s.label)).toEqual(labels.slice(0, 2));
    expect((await listSessions(target)).map((s) => s.label)).toEqual(labels.slice(2));
    // Logs 0–2 only served the deleted sessions and come before the remaining full (seq 3).
    expect(plan.redoLogs.map((n) => /seq(\d+)/.exec(n)![1])).toEqual(['0', '1', '2']);
    expect(fs.readdirSync(path.join(target, 'redologs')).length).toBe(2);
    expect(fs.readdirSync(path.join(target, 'deleting'))).toEqual([]);
  });

  it('by age or date deletes every session older, and keeps redo logs a remaining full needs', async () => {
    const old = await session('full', at(2021, 1, 10), { seq: [5, 5] });
    const incr = await session('incremental', at(2021, 1, 11), { seq: [5, 6], logs: [5, 6] });
    const recent = await session('full', at(2021, 2, 1), { seq: [6, 7] });
    const plan = await planDelete(target, parseDeleteArgument('2021/01/20'));
    expect(plan.sessions.map((s) => s.label)).toEqual([old, incr]);
    // Log 6 is at or after the remaining full's start: restores from it replay log 6.
    expect(plan.redoLogs.map((n) => /seq(\d+)/.exec(n)![1])).toEqual(['5']);
    const byAge = await planDelete(target, parseDeleteArgument('1y', at(2022, 1, 15)));
    expect(byAge.sessions.map((s) => s.label)).toEqual([old, incr]);
    expect(
      (await planDelete(target, parseDeleteArgument('7d', at(2021, 2, 5)))).sessions.map((s) => s.label),
    ).toEqual([old, incr]);
    expect(
      (await planDelete(target, parseDeleteArgument('1m', at(2021, 2, 5)))).sessions.map((s) => s.label),
    ).toEqual([]);
    expect(recent).toBeDefined();
  });

  it('finishes a delete that was interrupted, and is refused while a backup holds the target', async () => {
    const one = await session('full', at(2021, 5, 1), { seq: null });
    const two = await session('full', at(2021, 5, 2), { seq: null });
    // A delete killed after its rename: the session is out of sessions/ and is never listed.
    fs.mkdirSync(path.join(target, 'deleting'));
    fs.renameSync(path.join(target, 'sessions', one), path.join(target, 'deleting', one));
    expect((await listSessions(target)).map((s) => s.label)).toEqual([two]);
    const lock = await acquireLock(target, { operation: 'full backup', label: 'full-20210503.000000.000' });
    try {
      await expect(deleteSessions(target, parseDeleteArgument('1d'))).rejects.toThrow(/in use/);
    } finally {
      await lock.release();
    }
    expect((await listSessions(target)).map((s) => s.label)).toEqual([two]);
    await deleteSessions(target, parseDeleteArgument('1d'));
    expect(fs.readdirSync(path.join(target, 'deleting'))).toEqual([]);
    expect(await listSessions(target)).toEqual([]);
  });

  it('says what a bad value is in one line, exits 2 and deletes nothing', async () => {
    const label = await session('full', at(2021, 5, 1), { seq: null });
    for (const [arg, message] of [
      ['full-2021', '-del full-2021: not a session label (full-YYYYMMDD.HHMMSS.mmm)'],
      ['7w', '-del 7w: not a label, a date (YYYY/MM/DD[-hh:mm:ss]) or an age (7d, 1m, 1y)'],
      ['2021/02/30', '-del 2021/02/30: not a label, a date (YYYY/MM/DD[-hh:mm:ss]) or an age (7d, 1m, 1y)'],
      ['full-20200101.000000.000', `-del full-20200101.000000.000: no such session in ${target}`],
    ]) {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx/esm',
          path.join(ROOT, 'src-main/cli/main.ts'),
          'zmbackup',
          '-del',
          arg!,
          '-t',
          target,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr.trim()).toBe(`mailvault: ${message}`);
    }
    const dry = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        path.join(ROOT, 'src-main/cli/main.ts'),
        'zmbackup',
        '-del',
        label,
        '-t',
        target,
        '--dry-run',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      `Would delete 1 session(s) and 0 redo log(s) from ${target}:\n  ${label} (completed)`,
    );
    expect((await listSessions(target)).map((s) => s.label)).toEqual([label]);
  }, 60_000);
});
