/**
 * The one contract between the console (renderer) and the main process, whichever way it travels:
 * Electron IPC (preload) or the local web host (HTTP + server-sent events). Everything here is
 * JSON: requests, responses and pushed events. Errors cross as data, never as thrown exceptions.
 *
 * This file is imported by main, preload and renderer alike, so it holds types and a few string
 * constants only: no Node, no Electron, no DOM.
 *
 * The types live per area in ./contract/*.ts; this module re-exports them all (import from here),
 * and holds the catalog itself: every request with its response, and every pushed event.
 */

import type { AppInfo, LogLevel, LogLine } from './contract/app';
import type { BackupKind, JobEvent, JobNotice, JobSnapshot } from './contract/jobs';
import type { PrunePlan, PruneRule } from './contract/prune';
import type { RestoreAccount, RestorePlanInfo, RestoreQuery } from './contract/restore';
import type { ScheduleEntryInput, ServerSchedule } from './contract/schedules';
import type { ConnectionTest, ServerProfile, ServerProfileInput, ServerSummary } from './contract/servers';
import type { SessionDetail, TimelineWire } from './contract/sessions';
import type { StandbyFailoverPreview, StandbyLink, StandbyStatus, StandbyUnlinked } from './contract/standby';
import type { ApiResult, NoParams } from './contract/wire';

export * from './contract/app';
export * from './contract/jobs';
export * from './contract/prune';
export * from './contract/restore';
export * from './contract/schedules';
export * from './contract/servers';
export * from './contract/sessions';
export * from './contract/standby';
export * from './contract/wire';

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
  /** Restores an account as it was at toMs into a new account <prefix><address>, as a job. */
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

/** What the preload exposes as `window.mailvault`, and what the web client implements too. */
export interface MailvaultApi {
  call<N extends RequestName>(name: N, req: RequestOf<N>): Promise<ApiResult<ResponseOf<N>>>;
  /** Subscribes to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}
