/**
 * Jobs (backups, restores, failovers): snapshots, progress, the events they push and the notice at their end.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */
import type { SessionOutcome } from './sessions';
import type { StandbyFailoverReport } from './standby';
import type { ApiError } from './wire';

export type BackupKind = 'full' | 'incremental';

export interface JobProgress {
  accountsDone: number;
  /** Null until the server's account list is read. */
  accountsTotal: number | null;
  accountErrors: number;
  bytes: number;
  /** Bytes per second over the last seconds; null until measurable. */
  bytesPerSec: number | null;
  /** Estimated time left; null until measurable. */
  etaMs: number | null;
  currentAccount: string | null;
  message: string | null;
  /** Standby failover: ops replayed so far of those to replay (accounts* count mailboxes). */
  ops?: { done: number; total: number | null };
}

export type JobState = 'running' | 'succeeded' | 'failed' | 'aborted';

/** A session a job wrote, as its result lists it. */
export interface JobSession {
  label: string;
  status: SessionOutcome;
  accounts: number;
  accountErrors: number;
  bytes: number;
  errors: string[];
}

/** An account a restore job handled. */
export interface JobRestored {
  email: string;
  /** The new account it was restored into. */
  restoredAs?: string;
  status: 'restored' | 'skipped' | 'error';
  error?: string;
}

export interface JobSnapshot {
  id: string;
  /** The sequence number of the last event of this job: events with a higher one are newer. */
  seq: number;
  operation: `backup.${BackupKind}` | 'restore.account' | 'standby.failover';
  serverId: string;
  serverName: string;
  state: JobState;
  startedAt: number;
  endedAt?: number;
  label?: string;
  progress: JobProgress | null;
  aborting?: boolean;
  sessions: JobSession[];
  /** Restore jobs: the accounts restored. */
  restored?: JobRestored[];
  /** Standby failover jobs: the report. */
  failover?: StandbyFailoverReport;
  warnings: string[];
  error?: ApiError;
}

/** A job ended: what a desktop notification (or the console's toast) says, pushed once per job. */
export interface JobNotice {
  jobId: string;
  serverId: string;
  state: JobState;
  title: string;
  body: string;
  /** A failure: shown until dismissed where the desktop allows it. */
  urgent: boolean;
}

/**
 * What a job reports, numbered per job (seq 1, 2, 3…): a listener that sees a gap, or comes late,
 * asks `jobs.get` for the snapshot instead of guessing.
 */
export type JobEvent = { jobId: string; seq: number; at: number } & (
  | { kind: 'started'; job: JobSnapshot }
  | { kind: 'label'; label: string }
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'aborting' }
  | { kind: 'finished'; job: JobSnapshot }
);
