import type { RedoLogFile } from './log-files';

/** What a replay did: the counts zmplayredo and zmrestore print, and every op that failed. */
export interface ReplayError {
  mailboxId: number;
  op: string;
  changeId: number;
  message: string;
}

export interface ReplayReport {
  files: Array<{ name: string; seq: number; from: string }>;
  records: number;
  committed: number;
  applied: number;
  /** Committed ops whose effect the mailbox already had (change id at or below its checkpoint). */
  alreadyPresent: number;
  /** Outside the time range or for other mailboxes. */
  outOfRange: number;
  otherMailboxes: number;
  skippedDeletes: number;
  aborted: number;
  /** Ops with no CommitTxn in the logs read (in flight, or lost in a crash): never applied. */
  uncommitted: number;
  /** CommitTxn records whose op was not in the logs read. */
  orphanCommits: number;
  /** Committed ops replay does not apply, by name. */
  unknownOps: Record<string, number>;
  damage: Array<{ file: string; offset: number; length: number; reason: string }>;
  tornTails: Array<{ file: string; offset: number }>;
  errors: ReplayError[];
  mailboxes: number[];
  /** Database transactions the ops were applied in (runs of one mailbox's ops). */
  transactions: number;
  /** Runs whose quick attempt failed and that were applied again one op at a time. */
  retriedCarefully: number;
  /** Blob files of the replayed mailboxes that no row refers to, removed at the end (blob-sweep.ts). */
  orphanBlobsRemoved: number;
  durationMs: number;
}

export class ReplayStoppedError extends Error {}

export function emptyReport(logs: RedoLogFile[]): ReplayReport {
  return {
    files: logs.map((l) => ({ name: l.name, seq: l.seq, from: l.from })),
    records: 0,
    committed: 0,
    applied: 0,
    alreadyPresent: 0,
    outOfRange: 0,
    otherMailboxes: 0,
    skippedDeletes: 0,
    aborted: 0,
    uncommitted: 0,
    orphanCommits: 0,
    unknownOps: {},
    damage: [],
    tornTails: [],
    errors: [],
    mailboxes: [],
    transactions: 0,
    retriedCarefully: 0,
    orphanBlobsRemoved: 0,
    durationMs: 0,
  };
}
