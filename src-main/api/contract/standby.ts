/**
 * Standby sites (docs/standby.md): links, status, failover preview and report.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

/** Standby site (docs/standby.md): the four volumes a set is made of. */
export type StandbyVolumeName = 'mysql' | 'blobs' | 'index' | 'redolog';

/** Which saved server is a server's standby, and where its snapshots are kept there. */
export interface StandbyLink {
  standbyServerId: string;
  /** Default <the standby's zimbra_home>/standby. */
  dir?: string;
}

/** What the servers screen shows of a server's standby. */
export interface StandbyGlance {
  standbyServerId: string;
  standbyName: string;
  /** The last redo-log snapshot's lag: what a failover now would lose; null when none completed. */
  lagMs: number | null;
  /** Volumes whose last complete snapshot is older than 1.5 of their default interval (or none). */
  late: StandbyVolumeName[];
  failoverFrom: number | null;
  /** When it was read; a glance is at most a few seconds old. */
  readAt: number;
  problem?: string;
}

export interface StandbyVolumeStatus {
  volume: StandbyVolumeName;
  /** The last complete snapshot. */
  takenAt: number | null;
  lagMs: number | null;
  incomplete: number;
  /** The newest snapshot's error, if it did not complete. */
  lastError?: string;
}

export interface StandbySetInfo {
  fromTime: number;
  complete: boolean;
  /** The newest complete set: what a failover loads. */
  newest: boolean;
  volumes: Record<StandbyVolumeName, { id: string; takenAt: number } | null>;
}

export interface StandbyStatus {
  serverId: string;
  standby: { serverId: string; name: string; dir: string };
  /** The primary the snapshots came from, as the records name it. */
  primary: { hostname: string; zimbraHome: string } | null;
  now: number;
  volumes: StandbyVolumeStatus[];
  /** Oldest first. */
  sets: StandbySetInfo[];
  failoverFrom: number | null;
  lastRedoSnapshot: number | null;
  redoLogs: number;
  lastError: string | null;
}

/** standby.status of a server that names no standby (not an error: the screen offers to name one). */
export interface StandbyUnlinked {
  serverId: string;
  unlinked: true;
}

export interface StandbyFailoverPreview {
  serverId: string;
  standby: { serverId: string; name: string };
  set: StandbySetInfo;
  /** zmplayredo --fromTime: the set's oldest snapshot. */
  fromTime: number;
  lastRedoSnapshot: number;
  /** Committed after the last redo-log snapshot: lost. */
  dataLoss: { from: number; to: number; toIsFailureTime: boolean; ms: number };
  /** Ops committed since fromTime per mailbox, from the standby's logs (null when not cheap to read). */
  mailboxes: Array<{ mailboxId: number; ops: number }> | null;
  warnings: string[];
}

export interface StandbyFailoverReport {
  set: { fromTime: number; mysql: string; blobs: string; index: string; redolog: string };
  replayFrom: number;
  openAtSnapshot: number;
  redoLogs: number;
  committed: number;
  applied: number;
  alreadyPresent: number;
  errors: Array<{ mailboxId: number; op: string; message: string }>;
  durationMs: number;
  mailboxes: Array<{
    mailboxId: number;
    email: string;
    replayed: number;
    alreadyPresent: number;
    errors: number;
    reindex?: string;
  }>;
  dataLoss: { from: number; to: number; toIsFailureTime: boolean; lastCommitInLogs: number | null };
}
