import type { ZipMode } from '../target/manifest';

/**
 * A backup schedule as zmschedulebackup knows it (zimbra-facts §1.8): entries `f "<cron>"`,
 * `i "<cron>"` and `d <age> "<cron>"`, each with the zmbackup options passed through to it, and
 * the server the scheduled zmbackup reaches (on the server itself, or pulled over SSH from a
 * workstation).
 */
export type EntryKind = 'full' | 'incremental' | 'delete';

export const KIND_LETTER: Record<EntryKind, 'f' | 'i' | 'd'> = {
  full: 'f',
  incremental: 'i',
  delete: 'd',
};

/** zmbackup's options a schedule passes through (zmschedulebackup's -a, -t, zip, exclude and mail flags). */
export interface BackupOptions {
  accounts?: string[];
  target?: string;
  zip?: ZipMode;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  mailReport?: boolean;
  mailTo?: string[];
  mailFrom?: string;
  smtp?: string;
  /** A path only: the file (user and password) is read when the report is sent. */
  smtpAuthFile?: string;
  /** A path only: trusted certificates for the SMTP server, read when the report is sent. */
  smtpCaFile?: string;
  mailSubjectPrefix?: string;
}

export interface ScheduleEntry {
  kind: EntryKind;
  /** Five crontab fields, single-spaced. */
  cron: string;
  /** For delete: zmbackup -del's age (Nd, Nm, Ny). */
  age?: string;
  options: BackupOptions;
}

/** Where the scheduled zmbackup runs against the server: on it, or pulling over SSH. */
export type ScheduledServer =
  | { kind: 'local'; zimbraHome: string }
  | {
      kind: 'ssh';
      url: string;
      identity?: string;
      /** The file whose first line opens an encrypted identity: cron cannot type a passphrase. */
      passphraseFile?: string;
      hostKey: string;
      zimbraHome: string;
    };

/** The key of a schedule's block in a crontab: one block per server a crontab backs up. */
export function scheduleKey(server: ScheduledServer): string {
  return server.kind === 'local' ? `local ${server.zimbraHome}` : `${server.url} ${server.zimbraHome}`;
}

/** Zimbra's default (zmschedulebackup -D): full Saturday 01:00, incremental Sunday–Friday 01:00, delete older than a month at midnight. */
export function defaultSchedule(options: BackupOptions = {}): ScheduleEntry[] {
  return [
    { kind: 'full', cron: '0 1 * * 6', options: { ...options } },
    { kind: 'incremental', cron: '0 1 * * 0-5', options: { ...options } },
    { kind: 'delete', cron: '0 0 * * *', age: '1m', options: { ...options } },
  ];
}
