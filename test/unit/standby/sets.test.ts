import { describe, expect, it } from 'vitest';
import { widenForOpenTransactions, type CommittedOp } from '../../../src-main/engine/standby/committed-ops';
import {
  newestCompleteSet,
  snapshotSets,
  volumeLag,
  type SnapshotEntry,
  type StandbyVolume,
  type VolumeRecord,
} from '../../../src-main/engine/standby/record';
import { DEFAULT_INTERVALS, dueVolumes, parseIntervals } from '../../../src-main/engine/standby/schedule';
import { stamp } from '../../../src-main/engine/standby/snapshot';

const T0 = Date.UTC(2008, 9, 17, 8, 0, 0);
const s = (n: number) => T0 + n * 1000;
const m = (n: number) => T0 + n * 60_000;

function snap(volume: StandbyVolume, takenAt: number, complete = true): SnapshotEntry {
  return {
    id: `${volume}-${stamp(takenAt)}`,
    volume,
    takenAt,
    complete,
    files: 1,
    bytes: 1,
    removed: 0,
    resumedBytes: 0,
    attempts: 1,
  };
}

function records(entries: SnapshotEntry[]): Partial<Record<StandbyVolume, VolumeRecord>> {
  const out: Partial<Record<StandbyVolume, VolumeRecord>> = {};
  for (const e of entries)
    (out[e.volume] ??= {
      version: 1,
      volume: e.volume,
      primary: { hostname: 'mail1', zimbraHome: '/opt/zimbra' },
      snapshots: [],
    }).snapshots.push(e);
  return out;
}

describe('snapshot sets', () => {
  it("groups the seed's timeline: 8:00:00 mysql, :01 blob, :02 index, :03 redolog, more redo at 8:15 and 8:30", () => {
    const r = records([
      snap('mysql', s(0)),
      snap('blobs', s(1)),
      snap('index', s(2)),
      snap('redolog', s(3)),
      snap('redolog', m(15)),
      snap('redolog', m(30)),
    ]);
    const [set] = snapshotSets(r);
    expect(set).toMatchObject({ fromTime: s(0), complete: true });
    // The newest redo-log snapshot: replay runs to the end of what reached the standby.
    expect(set!.redolog!.takenAt).toBe(m(30));
    expect(stamp(s(0))).toBe('20081017.080000.000');
  });

  it('is incomplete until blobs, index and then a redo-log snapshot follow the dump, each complete', () => {
    expect(
      snapshotSets(records([snap('mysql', s(0)), snap('blobs', s(1)), snap('index', s(2))]))[0]!.complete,
    ).toBe(false);
    expect(
      snapshotSets(
        records([
          snap('mysql', s(0)),
          snap('blobs', s(1)),
          snap('index', s(2), false),
          snap('redolog', s(3)),
        ]),
      )[0]!.complete,
    ).toBe(false);
    // A redo-log snapshot taken before the index one does not close the set.
    expect(
      snapshotSets(
        records([snap('mysql', s(0)), snap('blobs', s(1)), snap('redolog', s(2)), snap('index', s(3))]),
      )[0]!.complete,
    ).toBe(false);
    expect(
      snapshotSets(
        records([
          snap('mysql', s(0), false),
          snap('blobs', s(1)),
          snap('index', s(2)),
          snap('redolog', s(3)),
        ]),
      )[0]!.complete,
    ).toBe(false);
  });

  it('never puts blobs or index taken before the dump into its set (replay from the dump would not rewrite them)', () => {
    const r = records([snap('blobs', s(0)), snap('index', s(1)), snap('mysql', s(2)), snap('redolog', s(3))]);
    const [set] = snapshotSets(r);
    expect(set!.blobs).toBeNull();
    expect(set!.complete).toBe(false);
    expect(newestCompleteSet(snapshotSets(r))).toBeNull();
  });

  it('fails over from the newest complete set, an older one when the newest is cut short', () => {
    const r = records([
      snap('mysql', m(0)),
      snap('blobs', m(0) + 1000),
      snap('index', m(0) + 2000),
      snap('redolog', m(0) + 3000),
      snap('mysql', m(60)),
      snap('blobs', m(60) + 1000, false),
      snap('redolog', m(75)),
    ]);
    const sets = snapshotSets(r);
    expect(sets).toHaveLength(2);
    expect(newestCompleteSet(sets)!.fromTime).toBe(m(0));
    // The older set still replays every redo-log snapshot since.
    expect(newestCompleteSet(sets)!.redolog!.takenAt).toBe(m(75));
  });

  it('reports each volume lag from its newest complete snapshot', () => {
    const lag = volumeLag(
      records([snap('mysql', m(0)), snap('redolog', m(30)), snap('redolog', m(45), false)]),
      m(50),
    );
    expect(lag.mysql).toEqual({ takenAt: m(0), lagMs: 50 * 60_000, incomplete: 0 });
    expect(lag.redolog).toEqual({ takenAt: m(30), lagMs: 20 * 60_000, incomplete: 1 });
    expect(lag.blobs).toEqual({ takenAt: null, lagMs: null, incomplete: 0 });
  });
});

describe('schedule', () => {
  it('defaults to hourly sets and redo logs every 15 minutes; intervals are configurable', () => {
    expect(DEFAULT_INTERVALS).toEqual({
      mysql: 3_600_000,
      blobs: 3_600_000,
      index: 3_600_000,
      redolog: 900_000,
    });
    expect(parseIntervals('mysql=2h, redolog=5m,index=90s')).toEqual({
      mysql: 7_200_000,
      blobs: 3_600_000,
      index: 90_000,
      redolog: 300_000,
    });
    for (const bad of ['mysql', 'mysql=1d', 'ldap=1h', 'redolog=0m', 'mysql=-1h', 'mysql=1h;rm'])
      expect(() => parseIntervals(bad), bad).toThrow(RangeError);
  });

  it("takes what is due in the seed's order, resumes an unfinished snapshot at once", () => {
    expect(dueVolumes({}, DEFAULT_INTERVALS, m(0))).toEqual(['mysql', 'blobs', 'index', 'redolog']);
    const r = records([
      snap('mysql', m(0)),
      snap('blobs', m(0)),
      snap('index', m(0), false),
      snap('redolog', m(0)),
    ]);
    expect(dueVolumes(r, DEFAULT_INTERVALS, m(10))).toEqual(['index']);
    expect(dueVolumes(r, DEFAULT_INTERVALS, m(15))).toEqual(['index', 'redolog']);
    expect(dueVolumes(r, DEFAULT_INTERVALS, m(60))).toEqual(['mysql', 'blobs', 'index', 'redolog']);
  });
});

describe('transactions open at the mysql snapshot', () => {
  const op = (preparedAt: number, committedAt: number): CommittedOp => ({
    mailboxId: 1,
    changeId: 1,
    op: 'CreateMessage',
    preparedAt,
    committedAt,
  });

  it('start the replay at the earliest prepare among ops committed at or after T', () => {
    expect(
      widenForOpenTransactions([op(s(0), s(1)), op(s(9), s(11)), op(s(10), s(10)), op(s(8), s(12))], s(10)),
    ).toEqual({
      fromTime: s(8),
      open: 2,
    });
    // Committed before T: in the dump, nothing to widen for.
    expect(widenForOpenTransactions([op(s(5), s(9)), op(s(11), s(12))], s(10))).toEqual({
      fromTime: s(10),
      open: 0,
    });
  });
});
