import { describe, expect, it } from 'vitest';
import type {
  HeldRedoLog,
  SnapshotEntry,
  StandbyVolume,
  VolumeRecord,
} from '../../../src-main/engine/standby/record';
import {
  frozenToPrune,
  keptSets,
  redoLogsToPrune,
  REDO_GRACE_MS,
} from '../../../src-main/engine/standby/retention';
import { stamp } from '../../../src-main/engine/standby/snapshot';

const T0 = Date.UTC(2008, 9, 17, 8, 0, 0);
const h = (n: number) => T0 + n * 3_600_000;

function snap(volume: StandbyVolume, takenAt: number, extra: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    id: `${volume}-${stamp(takenAt)}`,
    volume,
    takenAt,
    complete: true,
    files: 1,
    bytes: 1,
    removed: 0,
    resumedBytes: 0,
    attempts: 1,
    ...(volume === 'mysql'
      ? {
          dump: {
            file: `mysql/${stamp(takenAt)}.sql`,
            primaryFile: '/x',
            size: 1,
            sha256: '0',
            databases: ['zimbra'],
          },
        }
      : {}),
    ...(volume === 'blobs' || volume === 'index' ? { frozen: true } : {}),
    ...extra,
  };
}

/** Five hourly sets (8:00 … 12:00), redo-log snapshots every 15 min, a log rolled over every 30 min. */
function fiveHours(): Partial<Record<StandbyVolume, VolumeRecord>> {
  const rec = (volume: StandbyVolume, snapshots: SnapshotEntry[]): VolumeRecord => ({
    version: 1,
    volume,
    primary: { hostname: 'mail1', zimbraHome: '/opt/zimbra' },
    snapshots,
  });
  const hours = [0, 1, 2, 3, 4];
  // As snapshot.ts leaves them with 3 kept: the two oldest dumps removed.
  const mysql = hours.map((n) =>
    n < 2
      ? snap('mysql', h(n), {
          complete: false,
          dump: undefined,
          error: 'dump removed (older than the dumps kept)',
        })
      : snap('mysql', h(n)),
  );
  const logs: HeldRedoLog[] = [];
  for (let i = 0; i < 10; i++)
    logs.push({
      seq: i + 1,
      archiveName: i < 9 ? `redo-x-seq${i + 1}.log` : null,
      size: 1000,
      closed: i < 9,
      lastOpTime: i < 9 ? T0 + (i + 1) * 30 * 60_000 - 1000 : undefined,
    });
  return {
    mysql: rec('mysql', mysql),
    blobs: rec(
      'blobs',
      hours.map((n) => snap('blobs', h(n) + 1000)),
    ),
    index: rec(
      'index',
      hours.map((n) => snap('index', h(n) + 2000)),
    ),
    redolog: {
      ...rec(
        'redolog',
        hours.flatMap((n) => [0, 15, 30, 45].map((m) => snap('redolog', h(n) + 3000 + m * 60_000))),
      ),
      logs,
    },
  };
}

describe('standby retention', () => {
  it('keeps the sets whose dump is held: the three newest', () => {
    expect(keptSets(fiveHours()).map((s) => s.fromTime)).toEqual([h(2), h(3), h(4)]);
  });

  it('removes the redo logs whose last op is older than the oldest kept set, less the grace', () => {
    const r = fiveHours();
    // The oldest kept set is 10:00; logs end at 8:29:59, 8:59:59, 9:29:59, 9:59:59, 10:29:59 …
    // With the 10-minute grace the cutoff is 9:50: the first three go.
    expect(redoLogsToPrune(r)).toEqual([1, 2, 3]);
    expect(redoLogsToPrune(r, 0)).toEqual([1, 2, 3, 4]);
    expect(REDO_GRACE_MS).toBe(600_000);
    // Every op at or after the oldest kept set's time is still held (what its failover replays).
    const kept = r.redolog!.logs!.filter((l) => !redoLogsToPrune(r).includes(l.seq));
    expect(kept[0]!.lastOpTime!).toBeGreaterThanOrEqual(h(2) - REDO_GRACE_MS);
  });

  it('removes only a prefix, never the live log, nothing without a kept set', () => {
    const r = fiveHours();
    // A log whose last op time is unknown (and no archive name to tell) stops the pruning there.
    r.redolog!.logs![1] = { ...r.redolog!.logs![1]!, lastOpTime: undefined, archiveName: null };
    expect(redoLogsToPrune(r)).toEqual([1]);
    // A record from before lastOpTime was kept: the archive name's rollover time stands in.
    const named = fiveHours();
    named.redolog!.logs![0] = {
      ...named.redolog!.logs![0]!,
      lastOpTime: undefined,
      archiveName: `redo-20081017.083000.000-seq1.log`,
    };
    expect(redoLogsToPrune(named)).toEqual([1, 2, 3]);
    const none = fiveHours();
    for (const m of none.mysql!.snapshots) delete m.dump;
    expect(redoLogsToPrune(none)).toEqual([]);
    const all = fiveHours();
    for (const l of all.redolog!.logs!) l.lastOpTime = T0;
    all.redolog!.logs!.at(-1)!.closed = true;
    expect(redoLogsToPrune(all)).not.toContain(10);
  });

  it("drops the frozen trees of blobs and index snapshots no kept set uses, keeping the newest and the one joining the newest dump's set", () => {
    const r = fiveHours();
    expect(frozenToPrune(r, 'blobs').map((e) => e.takenAt)).toEqual([h(0) + 1000, h(1) + 1000]);
    expect(frozenToPrune(r, 'index').map((e) => e.takenAt)).toEqual([h(0) + 2000, h(1) + 2000]);
    // A newer dump without its redo-log snapshot yet: its blobs snapshot is kept though no kept set is complete with it.
    r.mysql!.snapshots.push(snap('mysql', h(5)));
    r.blobs!.snapshots.push(snap('blobs', h(5) + 1000), snap('blobs', h(5) + 9000));
    const pruned = frozenToPrune(r, 'blobs').map((e) => e.takenAt);
    expect(pruned).not.toContain(h(5) + 1000);
    expect(pruned).not.toContain(h(5) + 9000);
    expect(pruned).toContain(h(1) + 1000);
  });
});
