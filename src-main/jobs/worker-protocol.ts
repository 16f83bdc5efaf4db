import type { ConnectSpec } from '../api/server-connect';
import type {
  BackupKind,
  JobProgress,
  JobRestored,
  JobSession,
  StandbyFailoverReport,
} from '../api/contract';

/**
 * Messages between the console and a backup worker (a child process), over its IPC channel.
 * JSON only. The passphrase travels here, never in argv or the environment.
 */
export interface BackupOrder {
  type: 'run';
  kind: BackupKind;
  connect: ConnectSpec;
  target: string;
  accounts: 'all' | string[];
}

/** Restore one account as it was at toMs into a new account <prefix><address> (zmrestore -ca). */
export interface RestoreOrder {
  type: 'restore';
  connect: ConnectSpec;
  target: string;
  account: string;
  toMs: number;
  prefix: string;
}

/** Fail over to a standby (engine/standby/failover.ts) on the standby server `connect` names. */
export interface StandbyFailoverOrder {
  type: 'standby-failover';
  connect: ConnectSpec;
  /** Not a backup target: `standby:<dir>`, so that the runner's busy check tells jobs apart. */
  target: string;
  /** The standby's snapshot directory on it. */
  dir: string;
  failedAt?: number;
}

export type WorkerOrder = BackupOrder | RestoreOrder | StandbyFailoverOrder;

export type WorkerMessage =
  /** A line of progress (restores report in lines). */
  | { type: 'progress-line'; line: string }
  | { type: 'restored'; accounts: JobRestored[] }
  /** Progress of a job that is not a backup (a failover): taken as is. */
  | { type: 'progress'; progress: JobProgress }
  | { type: 'failover'; report: StandbyFailoverReport }
  /** A session was started (an incremental may be followed by a full of accounts that lack one). */
  | { type: 'label'; label: string }
  | { type: 'warning'; message: string }
  | { type: 'session'; session: JobSession }
  | { type: 'done'; ok: true }
  | { type: 'done'; ok: false; message: string };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}
