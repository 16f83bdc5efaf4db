import type { ConnectSpec } from '../api/server-connect';
import type { BackupKind, JobRestored, JobSession } from '../api/contract';

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

export type WorkerOrder = BackupOrder | RestoreOrder;

export type WorkerMessage =
  /** A line of progress (restores report in lines). */
  | { type: 'progress-line'; line: string }
  | { type: 'restored'; accounts: JobRestored[] }
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
