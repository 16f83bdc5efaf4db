import type { ConnectSpec } from '../api/server-connect';
import type { BackupKind, JobSession } from '../api/contract';

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

export type WorkerMessage =
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
