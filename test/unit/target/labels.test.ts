import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidLabelError } from '../../../src-main/engine/target/errors';
import {
  compareLabels,
  formatLabel,
  isLabel,
  newLabel,
  parseLabel,
} from '../../../src-main/engine/target/labels';

describe('session labels', () => {
  it('formats the seed example: full-20210712.155951.123 is 2021-07-12 15:59:51.123 GMT', () => {
    const ms = Date.UTC(2021, 6, 12, 15, 59, 51, 123);
    expect(formatLabel('full', ms)).toBe('full-20210712.155951.123');
    expect(formatLabel('incremental', ms)).toBe('incr-20210712.155951.123');
    expect(parseLabel('full-20210712.155951.123')).toEqual({
      label: 'full-20210712.155951.123',
      type: 'full',
      startMs: ms,
    });
    expect(parseLabel('incr-20210712.155951.123').type).toBe('incremental');
  });

  it('uses GMT whatever the local time zone is', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['America/New_York', 'Asia/Kolkata', 'Pacific/Chatham']) {
        process.env.TZ = tz;
        expect(formatLabel('full', Date.UTC(2021, 6, 12, 15, 59, 51, 123))).toBe('full-20210712.155951.123');
        expect(parseLabel('full-20210712.155951.123').startMs).toBe(Date.UTC(2021, 6, 12, 15, 59, 51, 123));
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('gives distinct, ordered labels across the hour that repeats when daylight saving ends', () => {
    // 2021-10-31 in Madrid: 02:30 local happens at 00:30 GMT and again at 01:30 GMT.
    const first = Date.UTC(2021, 9, 31, 0, 30);
    const second = Date.UTC(2021, 9, 31, 1, 30);
    const madrid = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Madrid', timeStyle: 'medium' });
    expect(madrid.format(first)).toBe(madrid.format(second));
    expect(formatLabel('full', first)).toBe('full-20211031.003000.000');
    expect(formatLabel('full', second)).toBe('full-20211031.013000.000');
    expect(formatLabel('full', first) < formatLabel('full', second)).toBe(true);
  });

  it('has no gap where daylight saving starts', () => {
    // 2021-03-28 in Madrid: local 02:00 jumps to 03:00 at 01:00 GMT; GMT labels simply go on.
    const before = Date.UTC(2021, 2, 28, 0, 59, 59, 999);
    expect(formatLabel('incremental', before)).toBe('incr-20210328.005959.999');
    expect(formatLabel('incremental', before + 1)).toBe('incr-20210328.010000.000');
    expect(
      parseLabel('incr-20210328.010000.000').startMs - parseLabel('incr-20210328.005959.999').startMs,
    ).toBe(1);
  });

  it('rolls over year and leap-day boundaries', () => {
    const lastMs = Date.UTC(2021, 11, 31, 23, 59, 59, 999);
    expect(formatLabel('full', lastMs)).toBe('full-20211231.235959.999');
    expect(formatLabel('full', lastMs + 1)).toBe('full-20220101.000000.000');
    expect(parseLabel('full-20240229.120000.000').startMs).toBe(Date.UTC(2024, 1, 29, 12));
    expect(formatLabel('full', 0)).toBe('full-19700101.000000.000');
  });

  it('refuses anything else with a typed error naming the value', () => {
    const bad = [
      '',
      'full',
      'move-20210712.155951.123',
      'FULL-20210712.155951.123',
      'full-20210712.155951.12',
      'full-20210712.155951.1234',
      'full-20210712-155951.123',
      ' full-20210712.155951.123',
      'full-20210712.155951.123\n',
      'full-20210230.000000.000',
      'full-20211301.000000.000',
      'full-20210712.245951.123',
      'full-20210712.156051.123',
      'full-20210712.155960.123',
      'full-00500101.000000.000',
      'full-19691231.235959.999',
      '../full-20210712.155951.123',
      'full-20210712.155951.123/..',
    ];
    for (const value of bad) {
      expect(isLabel(value)).toBe(false);
      try {
        parseLabel(value);
        expect.unreachable(value);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidLabelError);
        expect((error as InvalidLabelError).code).toBe('INVALID_LABEL');
        expect((error as InvalidLabelError).value).toBe(value);
        expect((error as Error).message).toContain(JSON.stringify(value));
      }
    }
    expect(() => formatLabel('full', -1)).toThrow(InvalidLabelError);
    expect(() => formatLabel('full', 1.5)).toThrow(InvalidLabelError);
  });

  it('orders labels by time, a full before an incremental of the same millisecond', () => {
    const labels = [
      'incr-20210712.155951.124',
      'incr-20210712.155951.123',
      'full-20210712.155951.123',
      'full-20200101.000000.000',
    ];
    expect([...labels].sort(compareLabels)).toEqual([
      'full-20200101.000000.000',
      'full-20210712.155951.123',
      'incr-20210712.155951.123',
      'incr-20210712.155951.124',
    ]);
  });
});

describe('newLabel', () => {
  let target: string;
  beforeEach(() => {
    target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-labels-'));
  });
  afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

  const frozen = Date.UTC(2021, 6, 12, 15, 59, 51, 123);

  it('reserves tmp/<label> for the caller', async () => {
    const label = await newLabel('full', target, () => frozen);
    expect(label).toBe('full-20210712.155951.123');
    expect(fs.statSync(path.join(target, 'tmp', label)).isDirectory()).toBe(true);
  });

  it('bumps by 1 ms past labels taken in tmp/ or sessions/', async () => {
    fs.mkdirSync(path.join(target, 'sessions', 'full-20210712.155951.123'), { recursive: true });
    fs.mkdirSync(path.join(target, 'tmp', 'full-20210712.155951.124'), { recursive: true });
    expect(await newLabel('full', target, () => frozen)).toBe('full-20210712.155951.125');
    // The other type's label at the same ms is a different label.
    expect(await newLabel('incremental', target, () => frozen)).toBe('incr-20210712.155951.123');
  });

  it('gives 50 concurrent callers in the same millisecond 50 different labels', async () => {
    const labels = await Promise.all(
      Array.from({ length: 50 }, () => newLabel('full', target, () => frozen)),
    );
    expect(new Set(labels).size).toBe(50);
    const times = labels.map((l) => parseLabel(l).startMs).sort((a, b) => a - b);
    expect(times[0]).toBe(frozen);
    expect(times[49]).toBe(frozen + 49);
    expect(fs.readdirSync(path.join(target, 'tmp')).sort()).toEqual([...labels].sort());
  });
});
