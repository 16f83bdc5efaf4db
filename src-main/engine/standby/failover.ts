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
  /** Called as the failover goes (the console's job shows it); replay progress every `progressMs`. */
  onProgress?: (progress: FailoverProgress) => void;
  progressMs?: number;
}

/**
 * Where a failover is. During replay, progress is read from the standby's own checkpoints: the
 * player commits each run of a mailbox's ops with its change_checkpoint, so an op is replayed
 * once the checkpoint reaches its change id (the replay engine itself reports only at the end).
 */
export interface FailoverProgress {
  step: 'load' | 'read-logs' | 'replay' | 'reindex' | 'done';
  mailboxesDone: number;
  mailboxesTotal: number | null;
  opsReplayed: number;
  opsTotal: number | null;
  message: string;
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
  const tell = (
    p: Omit<FailoverProgress, 'mailboxesDone' | 'opsReplayed' | 'mailboxesTotal' | 'opsTotal'> &
      Partial<FailoverProgress>,
  ) => options.onProgress?.({ mailboxesDone: 0, mailboxesTotal: null, opsReplayed: 0, opsTotal: null, ...p });
  tell({
    step: 'load',
    message: 'Loading the set: the dump into MariaDB, blobs and index onto the volumes, redo logs into place',
  });
  const loaded = await loadSet(standby, dir, set, records);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-failover-'));
  try {
    tell({ step: 'read-logs', message: 'Reading the redo logs held on the standby' });
    const logs = selectLogs(await serverRedoLogs(standby, work)).logs;
    const committed = await readCommittedOps(logs);
    const widened = widenForOpenTransactions(committed.ops, T);
    const before = await checkpoints(standby);
    let report: ReplayReport | null = null;
    if (options.replay !== false) {
      const ldap = await standby.ldap().catch(() => null);
      try {
        const base = await serverReplayBase(standby, ldap ?? undefined);
        const watch = options.onProgress
          ? watchReplay(standby, committed.ops, widened.fromTime, before, tell, options.progressMs)
          : null;
        try {
          report = await playRedo({
            ...base,
            logs,
            fromTime: widened.fromTime,
            threads: options.threads ?? 8,
          });
        } finally {
          await watch?.stop();
        }
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
    if (report && options.reindex !== false) {
      tell({ step: 'reindex', message: 'Asking mailboxd to reindex the mailboxes replayed' });
      for (const m of mailboxes.values())
        if (m.replayed > 0 && m.email) m.reindex = (await requestReindex(standby, m.email)).note;
    }
    const all = [...mailboxes.values()];
    tell({
      step: 'done',
      message: 'Failover done',
      mailboxesDone: all.length,
      mailboxesTotal: all.length,
      opsReplayed: all.reduce((n, m) => n + m.replayed, 0),
      opsTotal: all.reduce((n, m) => n + m.replayed, 0),
    });
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

/**
 * Polls the standby's change checkpoints while replay runs: per mailbox, the ops still missing
 * before replay (change id above its checkpoint) count as replayed once the checkpoint reaches
 * them; a mailbox is done when none is missing.
 */
function watchReplay(
  standby: ServerAccess,
  ops: Array<{ mailboxId: number; changeId: number; preparedAt: number }>,
  fromTime: number,
  before: Map<number, { change: number }>,
  tell: (p: FailoverProgress) => void,
  everyMs = 500,
): { stop(): Promise<void> } {
  const missing = new Map<number, number[]>();
  for (const o of ops) {
    if (o.preparedAt < fromTime) continue;
    const list = missing.get(o.mailboxId) ?? [];
    if (!(o.changeId > 0 && o.changeId <= (before.get(o.mailboxId)?.change ?? 0))) list.push(o.changeId);
    missing.set(o.mailboxId, list);
  }
  const mailboxesTotal = missing.size;
  const opsTotal = [...missing.values()].reduce((n, l) => n + l.length, 0);
  const read = async () => {
    const now = await checkpoints(standby);
    let opsReplayed = 0;
    let mailboxesDone = 0;
    for (const [id, list] of missing) {
      const at = now.get(id)?.change ?? 0;
      const done = list.filter((c) => c <= at).length;
      opsReplayed += done;
      if (done === list.length) mailboxesDone++;
    }
    tell({
      step: 'replay',
      message: `Replaying: ${opsReplayed} of ${opsTotal} op(s), ${mailboxesDone} of ${mailboxesTotal} mailbox(es) done`,
      mailboxesDone,
      mailboxesTotal,
      opsReplayed,
      opsTotal,
    });
  };
  tell({
    step: 'replay',
    message: `Replaying ${opsTotal} op(s) into ${mailboxesTotal} mailbox(es)`,
    mailboxesDone: 0,
    mailboxesTotal,
    opsReplayed: 0,
    opsTotal,
  });
  let busy: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    busy = busy.then(read).catch(() => undefined);
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await busy;
    },
  };
}
