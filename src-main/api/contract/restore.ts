/**
 * The restore planner: accounts, restore points, bursts of deletions and plans (read-only).
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

/** An account as the target's catalog knows it. */
export interface RestoreAccount {
  email: string;
  zimbraId: string;
}

/** Where a restore can start from and how far the target's redo logs take it. */
export interface RestorePointInfo {
  atMs: number;
  /** The full backup it starts from. */
  full: string;
  redoSeq: [number, number] | null;
  redoLogs: number;
  /** False when a redo log on the way is missing: atMs is then the latest reachable instant. */
  complete: boolean;
  missing: string | null;
}

/** A burst of deletions in the account (what an administrator usually restores to just before). */
export interface RestoreBurst {
  startMs: number;
  endMs: number;
  restoreToMs: number;
  items: number | null;
  summary: string;
  restore: RestorePointInfo | null;
}

export interface RestoreQuery {
  account: RestoreAccount;
  window: { fromMs: number | null; toMs: number };
  /** Sessions holding the account, oldest first. */
  sessions: Array<{
    label: string;
    type: 'full' | 'incremental';
    status: string;
    startMs: number;
    endMs: number;
    accountStatus: string;
    bytes: number;
    error?: string;
  }>;
  best: RestorePointInfo | null;
  bursts: RestoreBurst[];
  notes: string[];
}

/** What restoring an account to an instant would take and give, from the target alone. */
export interface RestorePlanInfo {
  account: RestoreAccount;
  toMs: number;
  full: { label: string; startMs: number; snapshotMs: number; bytes: number; status: string };
  redoLogs: Array<{ name: string; seq: number; bytes: number; session: string }>;
  reachable: boolean;
  restoresToMs: number;
  missing: string | null;
  bytesToRead: number;
  replay: { total: number; byKind: Record<string, number> };
  folders: Array<{ path: string; atFull: number | null; atTarget: number | null }> | null;
  messages: { atFull: number; atTarget: number } | null;
  problems: string[];
  /** The zmrestore command line that restores it into a new account (restoring runs from the CLI). */
  command: string;
}
