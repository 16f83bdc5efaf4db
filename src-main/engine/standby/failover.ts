import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { selectLogs, serverRedoLogs } from '../replay/log-files';
import { playRedo, type ReplayReport } from '../replay/player';
import { serverReplayBase } from '../replay/server-replay';
import { requestReindex } from '../restore/reindex';
import type { ServerAccess } from '../server/server-access';
import { readCommittedOps, widenForOpenTransactions } from './committed-ops';
import { loadSet, type LoadedSet } from './load-set';
import { lastCompleteSnapshot, newestCompleteSet, snapshotSets, type SnapshotSet } from './record';
import type { StandbyDir } from './standby-dir';

/**
 * Failover on the standby (the seed's "zmplayredo --fromTime <oldest snapshot of the set>"):
 * the newest complete set is loaded (load-set.ts), then every committed op prepared at or
 * after T is replayed by the redo replay engine, idempotently and per mailbox in order. What
 * came after the last redo-log snapshot is lost: the report names that window.
 */
export interface FailoverOptions {
  /** Replay from this time instead of the set's (earlier only: later would skip ops). */
  fromTime?: number;
  /** When the primary failed, the end of the data-loss window (default: now). */
  failedAt?: number;
  /** Load the set only; the administrator runs zmplayredo --fromTime themselves. */
  replay?: boolean;
  threads?: number;
  reindex?: boolean;
}

export interface MailboxReplay {
  mailboxId: number;
  email: string;
  /** Committed ops of this mailbox prepared at or after the replay's start. */
  committed: number;
  /** Of those, the ones the loaded database did not have yet (change id above its checkpoint). */
  replayed: number;
  alreadyPresent: number;
  errors: number;
  changeCheckpoint: { before: number; after: number };
  lastCommitAt: number | null;
  reindex?: string;
}

export interface FailoverReport {
  set: { mysql: string; blobs: string; index: string; redolog: string; fromTime: number };
  /** The replay's start: T, or earlier to take in transactions open at the mysql snapshot. */
  replayFrom: number;
  openAtSnapshot: number;
  loaded: LoadedSet;
  replay: (Omit<ReplayReport, 'files'> & { files: number }) | null;
  mailboxes: MailboxReplay[];
  dataLoss: {
    /** The last redo-log snapshot: nothing committed after it reached the standby. */
    from: number;
    to: number;
    toIsFailureTime: boolean;
    /** The last commit the standby's logs hold. */
    lastCommitInLogs: number | null;
  };
}

export class FailoverError extends Error {}

export function chooseSet(sets: SnapshotSet[]): SnapshotSet {
  const set = newestCompleteSet(sets);
  if (!set)
    throw new FailoverError(
      'no complete snapshot set on this standby (a mysql snapshot, then blobs and index, then a redo-log snapshot)',
    );
  return set;
}

async function checkpoints(standby: ServerAccess): Promise<Map<number, { email: string; change: number }>> {
  const [rows] = await standby.db.query<RowDataPacket[]>(
    'SELECT id, comment, change_checkpoint FROM zimbra.mailbox',
  );
  return new Map(
    rows.map((r) => [Number(r.id), { email: String(r.comment ?? ''), change: Number(r.change_checkpoint) }]),
  );
}

export async function failover(
  standby: ServerAccess,
  dir: StandbyDir,
  options: FailoverOptions = {},
): Promise<FailoverReport> {
  const records = await dir.readRecords();
  const set = chooseSet(snapshotSets(records));
  const T = options.fromTime ?? set.fromTime;
  if (T > set.fromTime)
    throw new FailoverError(
      `--at ${new Date(T).toISOString()} is after the set's oldest snapshot (${new Date(set.fromTime).toISOString()}): ops in between would be lost`,
    );
  const lastRedo = lastCompleteSnapshot(records.redolog)!;
  const loaded = await loadSet(standby, dir, set, records);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-failover-'));
  try {
    const logs = selectLogs(await serverRedoLogs(standby, work)).logs;
    const committed = await readCommittedOps(logs);
    const widened = widenForOpenTransactions(committed.ops, T);
    const before = await checkpoints(standby);
    let report: ReplayReport | null = null;
    if (options.replay !== false) {
      const ldap = await standby.ldap().catch(() => null);
      try {
        const base = await serverReplayBase(standby, ldap ?? undefined);
        report = await playRedo({ ...base, logs, fromTime: widened.fromTime, threads: options.threads ?? 8 });
      } finally {
        await ldap?.unbind().catch(() => undefined);
      }
    }
    const after = await checkpoints(standby);
    const mailboxes = new Map<number, MailboxReplay>();
    for (const o of committed.ops) {
      if (o.preparedAt < widened.fromTime) continue;
      let m = mailboxes.get(o.mailboxId);
      if (!m) {
        const b = before.get(o.mailboxId);
        m = {
          mailboxId: o.mailboxId,
          email: after.get(o.mailboxId)?.email ?? b?.email ?? '',
          committed: 0,
          replayed: 0,
          alreadyPresent: 0,
          errors: 0,
          changeCheckpoint: { before: b?.change ?? 0, after: after.get(o.mailboxId)?.change ?? 0 },
          lastCommitAt: null,
        };
        mailboxes.set(o.mailboxId, m);
      }
      m.committed++;
      if (o.changeId > 0 && o.changeId <= m.changeCheckpoint.before) m.alreadyPresent++;
      else m.replayed++;
      m.lastCommitAt = Math.max(m.lastCommitAt ?? 0, o.committedAt);
    }
    for (const e of report?.errors ?? []) {
      const m = mailboxes.get(e.mailboxId);
      if (m) m.errors++;
    }
    // The index is the snapshot's: as restore does, ask mailboxd to rebuild it where ops were replayed.
    if (report && options.reindex !== false)
      for (const m of mailboxes.values())
        if (m.replayed > 0 && m.email) m.reindex = (await requestReindex(standby, m.email)).note;
    const failedAt = options.failedAt ?? Date.now();
    return {
      set: {
        mysql: set.mysql.id,
        blobs: set.blobs!.id,
        index: set.index!.id,
        redolog: set.redolog!.id,
        fromTime: set.fromTime,
      },
      replayFrom: widened.fromTime,
      openAtSnapshot: widened.open,
      loaded,
      replay: report ? { ...report, files: report.files.length } : null,
      mailboxes: [...mailboxes.values()].sort((a, b) => a.mailboxId - b.mailboxId),
      dataLoss: {
        from: lastRedo.takenAt,
        to: failedAt,
        toIsFailureTime: options.failedAt !== undefined,
        lastCommitInLogs: committed.lastCommittedAt,
      },
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
