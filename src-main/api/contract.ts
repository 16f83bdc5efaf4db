/**
 * The one contract between the console (renderer) and the main process, whichever way it travels:
 * Electron IPC (preload) or the local web host (HTTP + server-sent events). Everything here is
 * JSON: requests, responses and pushed events. Errors cross as data, never as thrown exceptions.
 *
 * This file is imported by main, preload and renderer alike, so it holds types and a few string
 * constants only: no Node, no Electron, no DOM.
 */

/** Parameters of a request that takes none. */
export type NoParams = Record<string, never>;

export interface AppInfo {
  name: 'Mailvault';
  version: string;
  /** Which shell serves the console: the Electron window or the local web host in a browser. */
  shell: 'electron' | 'web';
  /**
   * Where secrets (SSH key passphrases) can be kept: encrypted by the OS keyring, `weak` (Linux
   * without a keyring: a hard-coded key, refused unless accepted), or nowhere (the web console).
   */
  secrets: 'encrypted' | 'weak' | 'none';
}

/** How the engine reaches a server: on the server itself, or over SSH from this machine. */
export type ServerAccess = 'local' | 'ssh';

export type ServerStatus = 'starting' | 'online' | 'offline' | 'error' | 'unknown';

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

/** What the servers screen shows at a glance for one server. */
export interface BackupOverview {
  lastFull: SessionRef | null;
  lastIncremental: SessionRef | null;
  /** The latest stretch of any-second restore, if any. */
  coverage: TimeRange | null;
  /** Sessions in the target that did not complete cleanly. */
  troubled: number;
  sessions: number;
  /** Why the target could not be read, if it could not. */
  problem?: string;
}

export interface ServerSummary {
  /** Stable id within this console (what `-s <name>` names on the command line). */
  id: string;
  name: string;
  /** zimbra_server_hostname of the server. */
  hostname: string;
  access: ServerAccess;
  /** Where SSH connects, as `user@host:port` (absent for local access, or while unknown). */
  address?: string;
  status: ServerStatus;
  /** Why the status is what it is, when that needs saying (an error, a start in progress). */
  detail?: string;
  /** The built-in sandbox server started with the app. */
  sandbox?: boolean;
  /** Saved by the administrator (editable, removable). */
  saved?: boolean;
  /** The backup target directory (on this machine). */
  target?: string;
  backups?: BackupOverview;
  /** A job running on this server now. */
  runningJobId?: string;
  /** Its standby at a glance, when one is linked (standby.link). */
  standby?: StandbyGlance;
}

/** SSH settings of a saved server. No secret is ever part of it. */
export interface SshSettings {
  host: string;
  port: number;
  user: string;
  /** The SSH agent (SSH_AUTH_SOCK), or a private key file. */
  auth: 'agent' | 'key';
  keyPath?: string;
  /** The pinned host key, SHA256:… as `ssh-keygen -lf` prints it; set once confirmed. */
  hostKey?: string;
}

/** A saved server as stored and shown (never with secrets). */
export interface ServerProfile {
  id: string;
  name: string;
  access: ServerAccess;
  ssh?: SshSettings;
  /** Where Zimbra is installed on the server. */
  zimbraHome: string;
  /** The backup target directory on this machine. */
  target: string;
  /** zimbra_server_hostname, learned by the last successful connection test. */
  hostname?: string;
  /** A key passphrase is stored (encrypted). */
  hasPassphrase?: boolean;
  sandbox?: boolean;
}

/** What the add/edit form sends. `passphrase`: a new one to store, null to forget it, absent to keep. */
export type ServerProfileInput = Omit<ServerProfile, 'id' | 'hostname' | 'hasPassphrase' | 'sandbox'> & {
  id?: string;
  passphrase?: string | null;
  /** Store the passphrase even though this machine's secret storage is `weak`. */
  acceptWeakSecretStorage?: boolean;
};

export type ConnectionStep = 'ssh' | 'localconfig' | 'mariadb' | 'ldap' | 'volumes' | 'accounts';

export interface ConnectionStepResult {
  step: ConnectionStep;
  /** `confirm`: the host key must be confirmed by the administrator before going on. */
  outcome: 'ok' | 'failed' | 'confirm' | 'skipped';
  detail: string;
}

export interface ConnectionTest {
  ok: boolean;
  steps: ConnectionStepResult[];
  /** The host key the server offered (SSH). */
  fingerprint?: string;
  hostname?: string;
  accounts?: number;
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

export type PruneRule =
  | { kind: 'age'; amount: number; unit: 'minutes' | 'hours' | 'days' | 'months' | 'years' }
  | { kind: 'label'; label: string };

export interface PrunePlan {
  /** Sessions that go, oldest first. */
  sessions: string[];
  redoLogs: string[];
  /** Sessions older than this go (age rules). */
  cutoffMs?: number;
  /** What the administrator should weigh before confirming (restores this makes impossible). */
  warnings?: string[];
}

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

/** A schedule entry as the console edits it (zmschedulebackup's f, i and d <age>). */
export interface ScheduleEntryInput {
  kind: 'full' | 'incremental' | 'delete';
  /** Five crontab fields. */
  cron: string;
  /** Delete only: zmbackup -del's age (Nd, Nm, Ny). */
  age?: string;
}

export interface ScheduleEntryInfo extends ScheduleEntryInput {
  /** The entry in Zimbra's syntax, as zmschedulebackup -q prints it. */
  zimbra: string;
}

/** A run the schedule plans (or planned). */
export interface ScheduleRun {
  kind: ScheduleEntryInput['kind'];
  atMs: number;
}

/** A run the schedule started, as its record in the target says (docs/backup-target.md). */
export interface ScheduleAttempt {
  id: string;
  kind: 'full' | 'incremental' | 'delete';
  startMs: number;
  endMs: number | null;
  /** interrupted: the process died while running. */
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  exitCode: number | null;
  /** Why it failed (target locked, server unreachable, …). */
  error: string | null;
  labels: string[];
  report: { sent: boolean; error: string | null } | null;
}

/** schedules.get: a server's schedule, where it is installed, its next and missed runs and its attempts. */
export interface ServerSchedule {
  serverId: string;
  entries: ScheduleEntryInfo[];
  /** zmschedulebackup -q. */
  zimbra: string;
  /** zmschedulebackup -s: one command line that installs it again. */
  command: string;
  /** server: the server's own crontab (here for a local server); workstation: this machine's, pulling over SSH. */
  place: { kind: 'server' | 'workstation'; where: string; crontab: string };
  /** The next 7 days. */
  next: ScheduleRun[];
  /** Planned runs that left no attempt (the machine was off, cron stopped). */
  missed: ScheduleRun[];
  /** Newest first, at most 50. */
  attempts: ScheduleAttempt[];
  /** Places whose crontab could not be read. */
  problems: string[];
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

export type LogLevel = 'info' | 'warn' | 'error';

/** One line of the console's log view (never a secret). */
export interface LogLine {
  seq: number;
  at: number;
  level: LogLevel;
  serverId?: string;
  message: string;
}

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

export interface ApiRequests {
  'app.info': { req: NoParams; res: AppInfo };
  'servers.list': { req: NoParams; res: ServerSummary[] };
  'servers.get': { req: { id: string }; res: ServerProfile };
  'servers.save': { req: { profile: ServerProfileInput }; res: ServerProfile };
  'servers.remove': { req: { id: string }; res: NoParams };
  /** Test a saved server (id) or the form's settings (profile); hostKey confirms the offered key. */
  'servers.test': {
    req: { id?: string; profile?: ServerProfileInput; hostKey?: string };
    res: ConnectionTest;
  };
  'sessions.list': { req: { serverId: string }; res: TimelineWire };
  'sessions.get': { req: { serverId: string; label: string }; res: SessionDetail };
  'jobs.start': {
    req: { serverId: string; operation: `backup.${BackupKind}`; accounts?: 'all' | string[] };
    res: JobSnapshot;
  };
  'jobs.abort': { req: { jobId: string }; res: JobSnapshot };
  'jobs.get': { req: { jobId: string }; res: JobSnapshot };
  /** Every job since the app started, newest first: what a reloaded window starts from. */
  'jobs.list': { req: NoParams; res: JobSnapshot[] };
  'prune.preview': { req: { serverId: string; rule: PruneRule }; res: PrunePlan };
  'prune.run': { req: { serverId: string; rule: PruneRule }; res: PrunePlan };
  /** Restore planner (read-only: from the target alone, nothing is restored). */
  'restore.accounts': { req: { serverId: string }; res: RestoreAccount[] };
  'restore.query': {
    req: { serverId: string; account: string; fromMs?: number; toMs: number };
    res: RestoreQuery;
  };
  'restore.plan': { req: { serverId: string; account: string; toMs: number }; res: RestorePlanInfo };
  /** Restores an account as it was at toMs into a new account <prefix><address>, as a job. */
  /** Names (or with null, forgets) a server's standby: another saved server. */
  'standby.link': { req: { serverId: string; link: StandbyLink | null }; res: NoParams };
  'standby.status': { req: { serverId: string }; res: StandbyStatus | StandbyUnlinked };
  /** What a failover now would load and lose; failedAtMs ends the data-loss window (default now). */
  'standby.failover.preview': {
    req: { serverId: string; failedAtMs?: number };
    res: StandbyFailoverPreview;
  };
  /** Runs the failover on the standby as a job; confirm must be the standby server's name. */
  'standby.failover': {
    req: { serverId: string; confirm: string; failedAtMs?: number };
    res: JobSnapshot;
  };
  'restore.start': {
    req: { serverId: string; account: string; toMs: number; prefix: string };
    res: JobSnapshot;
  };
  /** The server's backup schedule (crontab), its next and missed runs and the attempts on record. */
  'schedules.get': { req: { serverId: string }; res: ServerSchedule };
  /** Installs these entries (replacing the schedule) with zmschedulebackup's checks. */
  'schedules.save': { req: { serverId: string; entries: ScheduleEntryInput[] }; res: ServerSchedule };
  'schedules.remove': { req: { serverId: string }; res: ServerSchedule };
  /** The console's log, newest first; level: that level and worse. */
  'log.list': { req: { serverId?: string; level?: LogLevel }; res: LogLine[] };
}

export type RequestName = keyof ApiRequests;
export type RequestOf<N extends RequestName> = ApiRequests[N]['req'];
export type ResponseOf<N extends RequestName> = ApiRequests[N]['res'];

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

export interface ApiEvents {
  'job.event': JobEvent;
  /** The server list changed (a server was added, or one's status changed): ask again. */
  'servers.changed': NoParams;
  /** A server's sessions changed (a backup committed, a prune): its timeline is stale. */
  'sessions.changed': { serverId: string };
  /** A server's schedule was installed or removed: its planned runs changed. */
  'schedules.changed': { serverId: string };
  /** A new line in the console's log. */
  'log.line': LogLine;
  /** A job ended (finished, failed, aborted): for a desktop notification. */
  'job.notice': JobNotice;
}

export type EventName = keyof ApiEvents;
export type EventMessage = { [E in EventName]: { name: E; payload: ApiEvents[E] } }[EventName];

export type ApiErrorCode =
  | 'bad-request'
  | 'unknown-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'unreachable'
  | 'internal';

export interface ApiError {
  code: ApiErrorCode;
  /** A sentence an administrator can act on. */
  message: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** What the preload exposes as `window.mailvault`, and what the web client implements too. */
export interface MailvaultApi {
  call<N extends RequestName>(name: N, req: RequestOf<N>): Promise<ApiResult<ResponseOf<N>>>;
  /** Subscribes to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Electron IPC channels (preload ⇄ main). */
export const IPC_CALL = 'mailvault:call';
export const IPC_EVENT = 'mailvault:event';

/** Web host: the header that carries the session token, and the event stream's path. */
export const TOKEN_HEADER = 'x-mailvault-token';
export const EVENTS_PATH = '/api/events';
