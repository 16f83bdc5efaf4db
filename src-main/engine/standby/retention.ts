import { parseArchiveFileName } from '../redolog';
import { snapshotSets, type SnapshotEntry, type StandbyVolume, type VolumeRecord } from './record';
import type { StandbyDir } from './standby-dir';

/**
 * What the standby keeps. The kept sets are those whose dump is still on the standby (the
 * newest `keepDumps`, 3 by default: snapshot.ts removes older dumps). Each pruning runs in the
 * snapshot job of its own volume, under that volume's lock, reading the other records only:
 *   - redo logs: a closed log whose last op is older than the oldest kept set's time, less a
 *     grace for transactions still open at that time (their prepare may sit in an older log),
 *     is removed; failover from any kept set replays from that set's time at the earliest;
 *   - blobs and index: each snapshot's own tree of hard links (frozen/<id>/) is removed once no
 *     kept set uses it and it cannot join a set still being formed. A file then leaves the disk
 *     when neither the mirror nor any kept tree links it.
 */
export const REDO_GRACE_MS = 10 * 60_000;

type Records = Partial<Record<StandbyVolume, VolumeRecord>>;

/** The sets a failover may still load: their dump is on the standby. */
export function keptSets(records: Records) {
  return snapshotSets(records).filter((s) => s.mysql.dump !== undefined);
}

/** Sequences of the redo logs to remove: closed, last op before the oldest kept set's time less the grace. */
export function redoLogsToPrune(records: Records, graceMs = REDO_GRACE_MS): number[] {
  const kept = keptSets(records);
  const logs = records.redolog?.logs ?? [];
  if (kept.length === 0 || logs.length === 0) return [];
  const cutoff = Math.min(...kept.map((s) => s.fromTime)) - graceMs;
  // Only a prefix goes: replay reads the logs in order, so none is removed after one that stays.
  const out: number[] = [];
  for (const log of logs) {
    // A log recorded before lastOpTime was kept: its rollover time (in its archive name) is later than its last op.
    const last =
      log.lastOpTime ?? (log.archiveName ? parseArchiveFileName(log.archiveName)?.rolloverTime : undefined);
    if (!log.closed || last === undefined || last >= cutoff) break;
    out.push(log.seq);
  }
  // The newest log is never removed: the next snapshot goes on from it.
  return out.filter((seq) => seq !== logs[logs.length - 1]!.seq);
}

export async function pruneRedoLogs(
  dir: StandbyDir,
  records: Records,
  graceMs = REDO_GRACE_MS,
): Promise<number> {
  const record = records.redolog;
  const seqs = redoLogsToPrune(records, graceMs);
  if (!record || seqs.length === 0) return 0;
  for (let i = 0; i < seqs.length; i += 500)
    await dir.run(['rm', '-f', '--', ...seqs.slice(i, i + 500).map((q) => dir.abs(`redolog/seq-${q}.log`))]);
  const gone = new Set(seqs);
  record.logs = (record.logs ?? []).filter((l) => !gone.has(l.seq));
  return seqs.length;
}

/**
 * Snapshots of `volume` (blobs or index) whose frozen tree is no longer needed: not in a kept
 * set, not the newest, and not the first complete one since the newest mysql snapshot (it joins
 * that set once the set's redo-log snapshot comes).
 */
export function frozenToPrune(records: Records, volume: 'blobs' | 'index'): SnapshotEntry[] {
  const own = records[volume]?.snapshots ?? [];
  const used = new Set(keptSets(records).flatMap((s) => (s[volume] ? [s[volume].id] : [])));
  const mysql = records.mysql?.snapshots ?? [];
  const lastMysql = mysql.length ? Math.max(...mysql.map((m) => m.takenAt)) : null;
  const joining = lastMysql === null ? undefined : own.find((e) => e.complete && e.takenAt >= lastMysql);
  const newest = own.filter((e) => e.complete && e.frozen).at(-1);
  return own.filter((e) => e.frozen && !used.has(e.id) && e !== newest && e !== joining);
}

export async function pruneFrozen(
  dir: StandbyDir,
  records: Records,
  volume: 'blobs' | 'index',
): Promise<number> {
  const old = frozenToPrune(records, volume);
  for (const e of old) {
    await dir.run(['rm', '-rf', '--', dir.abs(`frozen/${e.id}`)]);
    e.frozen = false;
  }
  return old.length;
}
