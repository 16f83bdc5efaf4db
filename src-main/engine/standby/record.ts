import type { SnapshotMethod } from './storage-snapshot';

/**
 * What the standby keeps about the snapshots it received (one JSON file per volume on the
 * standby, so that cron jobs of different volumes never overwrite each other's records), and
 * how they group into sets: a set is a mysql snapshot, the first complete blobs and index
 * snapshots taken after it, and a complete redo-log snapshot taken after those. Its time T is
 * its oldest snapshot, the mysql one: replay from T brings the later volumes in line with it.
 * Blobs or index taken before the dump would miss files the dump's rows need, and replay from
 * the dump's time skips ops the dump already holds, so such snapshots never join a set.
 */
export const STANDBY_VOLUMES = ['mysql', 'blobs', 'index', 'redolog'] as const;
export type StandbyVolume = (typeof STANDBY_VOLUMES)[number];

export interface SnapshotEntry {
  /** `<volume>-<yyyyMMdd.HHmmss.SSS GMT>`: unique per volume, sorts by time. */
  id: string;
  volume: StandbyVolume;
  /** The instant the copy reflects: the dump's start, the file listing, the redo.log cut. */
  takenAt: number;
  complete: boolean;
  completedAt?: number;
  /** Files and bytes sent to the standby by this snapshot (all attempts), files removed there. */
  files: number;
  bytes: number;
  removed: number;
  /** Bytes a resumed attempt did not have to send again. */
  resumedBytes: number;
  attempts: number;
  /** mysql: the dump on the standby (relative to the standby dir) and where it is staged on the primary. */
  dump?: { file: string; primaryFile: string; size: number; sha256: string; databases: string[] };
  /**
   * blobs/index: the primary's volumes copied (mirror directory name = volume id), each read
   * from a storage snapshot (btrfs, lvm, zfs: `snapshotAt` is its instant) or copied live.
   */
  volumes?: Array<{ id: number; type: number; path: string; method?: SnapshotMethod; snapshotAt?: number }>;
  /** How it was taken: dump (mysql), cut (redolog), or the blobs/index volumes' methods joined by '+'. */
  method?: string;
  /** blobs/index: the snapshot's own tree of hard links on the standby (frozen/<id>/), kept while a kept set uses it. */
  frozen?: boolean;
  /** redolog: the newest sequence copied and where it was cut. */
  redo?: { seq: number; cutBytes: number; lastOpTime: number };
  error?: string;
}

/** One redo log held on the standby, by sequence. */
export interface HeldRedoLog {
  seq: number;
  /** Its archive name once the primary rolled it over; null while it was redo.log when copied. */
  archiveName: string | null;
  /** Bytes held (the header's file size at the cut for a live log). */
  size: number;
  /** Copied whole from the archive and verified: nothing more will come. */
  closed: boolean;
  /** Its header's last op time when copied (closed logs): what redo-log pruning goes by. */
  lastOpTime?: number;
}

export interface VolumeRecord {
  version: 1;
  volume: StandbyVolume;
  primary: { hostname: string; zimbraHome: string };
  snapshots: SnapshotEntry[];
  /** redolog only. */
  logs?: HeldRedoLog[];
}

export interface SnapshotSet {
  /** The oldest snapshot of the set: replay from here (zmplayredo --fromTime). */
  fromTime: number;
  mysql: SnapshotEntry;
  blobs: SnapshotEntry | null;
  index: SnapshotEntry | null;
  /** The newest complete redo-log snapshot after the set's other three. */
  redolog: SnapshotEntry | null;
  complete: boolean;
}

const byTime = (a: SnapshotEntry, b: SnapshotEntry) => a.takenAt - b.takenAt;

/** Every mysql snapshot opens a set, newest last. */
export function snapshotSets(records: Partial<Record<StandbyVolume, VolumeRecord>>): SnapshotSet[] {
  const of = (v: StandbyVolume) => [...(records[v]?.snapshots ?? [])].sort(byTime);
  const done = (v: StandbyVolume) => of(v).filter((s) => s.complete);
  return of('mysql').map((mysql) => {
    const after = (v: StandbyVolume, t: number) => done(v).find((s) => s.takenAt >= t) ?? null;
    const blobs = after('blobs', mysql.takenAt);
    const index = after('index', mysql.takenAt);
    const last = Math.max(mysql.takenAt, blobs?.takenAt ?? Infinity, index?.takenAt ?? Infinity);
    const redos = Number.isFinite(last) ? done('redolog').filter((s) => s.takenAt >= last) : [];
    const redolog = redos[redos.length - 1] ?? null;
    return {
      fromTime: mysql.takenAt,
      mysql,
      blobs,
      index,
      redolog,
      complete: mysql.complete && !!blobs && !!index && !!redolog,
    };
  });
}

export function newestCompleteSet(sets: SnapshotSet[]): SnapshotSet | null {
  return [...sets].reverse().find((s) => s.complete) ?? null;
}

/** The newest complete set whose replay starts at or before `at` (failover --at). */
export function setForTime(sets: SnapshotSet[], at: number): SnapshotSet | null {
  return [...sets].reverse().find((s) => s.complete && s.fromTime <= at) ?? null;
}

export function lastCompleteSnapshot(record: VolumeRecord | undefined): SnapshotEntry | null {
  const done = (record?.snapshots ?? []).filter((s) => s.complete).sort(byTime);
  return done[done.length - 1] ?? null;
}

/** Per volume: the newest complete snapshot's time and how far it lags behind `now`. */
export function volumeLag(
  records: Partial<Record<StandbyVolume, VolumeRecord>>,
  now: number,
): Record<StandbyVolume, { takenAt: number | null; lagMs: number | null; incomplete: number }> {
  const out = {} as Record<
    StandbyVolume,
    { takenAt: number | null; lagMs: number | null; incomplete: number }
  >;
  for (const v of STANDBY_VOLUMES) {
    const last = lastCompleteSnapshot(records[v]);
    out[v] = {
      takenAt: last?.takenAt ?? null,
      lagMs: last ? now - last.takenAt : null,
      incomplete: (records[v]?.snapshots ?? []).filter((s) => !s.complete).length,
    };
  }
  return out;
}
