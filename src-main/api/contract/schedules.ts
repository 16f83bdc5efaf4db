/**
 * Backup schedules: entries as the console edits them, planned and missed runs, attempts.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

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
