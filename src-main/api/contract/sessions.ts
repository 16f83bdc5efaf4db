/**
 * Backup sessions: the timeline, its lean wire form and one session's detail.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

/** One committed (or running) backup session, as the console shows it. */
export interface SessionRef {
  label: string;
  startMs: number;
  endMs: number | null;
  status: SessionOutcome;
}

/** A manifest's status, or the state of a session that has none (yet). */
export type SessionOutcome =
  'completed' | 'completed with errors' | 'aborted' | 'failed' | 'in progress' | 'abandoned' | 'invalid';

/** A stretch of time in which a restore to any second is possible (a full, then unbroken redo logs). */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** One session on the timeline. */
export interface SessionInfo extends SessionRef {
  type: 'full' | 'incremental';
  hostname: string | null;
  accounts: number;
  accountErrors: number;
  bytes: number;
  errors: string[];
  redoLogs: number;
  /** Redo op times the session covers. */
  redoTimeMs: TimeRange | null;
  redoSeq: { min: number; max: number } | null;
}

export interface TimelineGap extends TimeRange {
  why: string;
}

export interface ServerTimeline {
  serverId: string;
  sessions: SessionInfo[];
  coverage: TimeRange[];
  gaps: TimelineGap[];
}

/** A session as the timeline lists it: SessionInfo without what sessions.get gives per session. */
export type SessionRow = Pick<
  SessionInfo,
  'label' | 'type' | 'startMs' | 'endMs' | 'status' | 'accounts' | 'accountErrors' | 'bytes'
>;

/**
 * Sessions as sessions.list sends them (api/session-columns.ts): one array per field, index i is
 * session i, oldest first.
 */
export interface SessionColumns {
  /** ms after the previous session's start (the first: after the epoch). */
  start: number[];
  /** ms from start to end; -1 while there is no end. */
  took: number[];
  /** 2 × index in OUTCOMES + (0 full, 1 incremental). */
  kind: number[];
  accounts: number[];
  accountErrors: number[];
  bytes: number[];
  /** By index: the labels that are not the one the type and start time give. */
  labels: Record<number, string>;
}

/** ServerTimeline in the lean form sessions.list answers with. */
export interface TimelineWire {
  serverId: string;
  sessions: SessionColumns;
  coverage: TimeRange[];
  gaps: TimelineGap[];
}

export interface SessionAccount {
  email: string;
  status: string;
  bytes: number;
  error?: string;
  maintenance: TimeRange | null;
}

export interface SessionDetail extends SessionInfo {
  accountList: SessionAccount[];
  warnings: string[];
}
