import type { ServerAccess } from '../server/server-access';
import type { SnapshotEntry, StandbyVolume, VolumeRecord } from './record';
import type { StandbyDir } from './standby-dir';
import { snapshotVolumeFiles } from './snapshot-files';
import { snapshotMysql } from './snapshot-mysql';
import { snapshotRedoLogs } from './snapshot-redolog';
import { pruneFrozen, pruneRedoLogs } from './retention';
import type { TransferHooks } from './transfer';

/**
 * One snapshot of one volume, from the primary to the standby, recorded on the standby: the
 * entry is written incomplete first and complete last, so a snapshot cut by a dropped link, a
 * kill or a reboot is never counted in a set; the next snapshot of that volume resumes it.
 */
export interface SnapshotOptions {
  hooks?: TransferHooks;
  /** Complete mysql snapshots whose dump is kept on the standby (older dumps are removed). */
  keepDumps?: number;
  /** Snapshots listed per volume in its record (default 700). */
  keepRecords?: number;
  /** A volume lock not refreshed for this long is broken (default 10 minutes). */
  staleLockMs?: number;
  /**
   * blobs and index: 'auto' (default) reads a storage snapshot where the volume's storage
   * offers one (btrfs, LVM, ZFS), else copies live; 'copy' always copies live.
   */
  method?: 'auto' | 'copy';
  /** Redo-log pruning: how much older than the oldest kept set a removed log's last op must be. */
  redoGraceMs?: number;
}

/** yyyyMMdd.HHmmss.SSS in GMT, as Zimbra's labels. */
export function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}.${iso.slice(11, 19).replace(/:/g, '')}.${iso.slice(20, 23)}`;
}

export async function takeSnapshot(
  primary: ServerAccess,
  dir: StandbyDir,
  volume: StandbyVolume,
  options: SnapshotOptions = {},
): Promise<SnapshotEntry> {
  const lock = await dir.lock(volume, options.staleLockMs);
  try {
    const record: VolumeRecord = (await dir.readRecord(volume)) ?? {
      version: 1,
      volume,
      primary: { hostname: primary.settings.hostname, zimbraHome: primary.zimbraHome },
      snapshots: [],
    };
    if (record.primary.hostname !== primary.settings.hostname)
      throw new Error(
        `${dir.transport.name}: this standby (${dir.root}) is fed by ${record.primary.hostname}, not ${primary.settings.hostname}`,
      );
    const last = record.snapshots[record.snapshots.length - 1];
    let entry: SnapshotEntry;
    if (last && !last.complete) entry = last;
    else {
      const now = Date.now();
      entry = {
        id: `${volume}-${stamp(now)}`,
        volume,
        takenAt: now,
        complete: false,
        files: 0,
        bytes: 0,
        removed: 0,
        resumedBytes: 0,
        attempts: 0,
      };
      record.snapshots.push(entry);
    }
    entry.attempts++;
    delete entry.error;
    await dir.writeRecord(record);
    const hooks: TransferHooks = {
      ...options.hooks,
      onProgress: async (sent) => {
        await lock.refresh();
        await options.hooks?.onProgress?.(sent);
      },
    };
    try {
      if (volume === 'mysql') await snapshotMysql(primary, dir, entry, () => dir.writeRecord(record), hooks);
      else if (volume === 'redolog') await snapshotRedoLogs(primary, dir, entry, record, hooks);
      else await snapshotVolumeFiles(primary, dir, entry, volume, hooks, options.method ?? 'auto');
      if (volume === 'mysql') entry.method = 'dump';
      if (volume === 'redolog') entry.method = 'cut';
      entry.complete = true;
      entry.completedAt = Date.now();
      if (volume === 'mysql') await pruneDumps(dir, record, options.keepDumps ?? 3);
      else {
        // Retention by kept sets (retention.ts): the other volumes' records are only read.
        const records = { ...(await dir.readRecords()), [volume]: record };
        if (volume === 'redolog') await pruneRedoLogs(dir, records, options.redoGraceMs);
        else await pruneFrozen(dir, records, volume);
      }
      // The record is rewritten on every snapshot: it keeps the newest ones (a week of 15-minute redo-log snapshots).
      record.snapshots = record.snapshots.slice(-(options.keepRecords ?? 700));
    } catch (error) {
      entry.error = (error as Error).message;
      throw error;
    } finally {
      // After a dropped link this write fails too: the record still says incomplete.
      await dir.writeRecord(record).catch(() => undefined);
    }
    return entry;
  } finally {
    await lock.release();
  }
}

/** Keeps the newest `keep` complete dumps; older mysql snapshots stay listed without their file. */
async function pruneDumps(dir: StandbyDir, record: VolumeRecord, keep: number): Promise<void> {
  const complete = record.snapshots.filter((s) => s.complete && s.dump);
  for (const old of complete.slice(0, Math.max(0, complete.length - keep))) {
    await dir.run(['rm', '-f', '--', dir.abs(old.dump!.file)]);
    delete old.dump;
    old.complete = false;
    old.error = 'dump removed (older than the dumps kept)';
  }
}
