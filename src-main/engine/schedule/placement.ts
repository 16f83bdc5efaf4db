import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackupOptions, ScheduledServer, ScheduleEntry } from './schedule';

/**
 * Where a schedule is placed and what its crontab lines carry, as zmschedulebackup decides it for
 * both the command line (cli/schedule-command.ts) and the console (api/schedules.ts): the
 * server's own crontab, zmbackup reaching the server where it runs, or a workstation's crontab,
 * zmbackup pulling over SSH; and a delete entry keeping only what zmbackup -del takes.
 */

/** The SSH address of the server a workstation's schedule pulls from. */
export interface PullAddress {
  user: string;
  host: string;
  port: number;
}

/** A schedule in the server's own crontab: zmbackup runs on the server. */
export function onTheServer(zimbraHome: string): ScheduledServer {
  return { kind: 'local', zimbraHome };
}

/**
 * A schedule in this machine's crontab, pulling over SSH. Its url (ssh://user@host[:port], the
 * user URL-encoded, an IPv6 host in brackets, port 22 left out) is also the key of its crontab
 * block, so it is written one way only. Cron cannot ask whether to trust a host key: `hostKey`
 * pins it; `identity`, the key file (without it, the SSH agent), and `passphraseFile`, the file
 * that opens an encrypted one.
 */
export function pulledOverSsh(
  address: PullAddress,
  zimbraHome: string,
  keys: { hostKey: string; identity?: string; passphraseFile?: string },
): ScheduledServer {
  const { user, host, port } = address;
  const url = `ssh://${encodeURIComponent(user)}@${host.includes(':') ? `[${host}]` : host}${port === 22 ? '' : `:${port}`}`;
  return {
    kind: 'ssh',
    url,
    hostKey: keys.hostKey,
    zimbraHome,
    ...(keys.identity ? { identity: keys.identity } : {}),
    ...(keys.passphraseFile ? { passphraseFile: keys.passphraseFile } : {}),
  };
}

/** As zmschedulebackup does: zmbackup -del takes only the target and the report options. */
export function deleteOptions(options: BackupOptions): BackupOptions {
  const { accounts: _a, zip: _z, excludeBlobs: _b, excludeSearchIndex: _s, ...rest } = options;
  return rest;
}

/** The entry as installed: a delete entry with only the options zmbackup -del takes. */
export function asInstalled(entry: ScheduleEntry): ScheduleEntry {
  return entry.kind === 'delete' ? { ...entry, options: deleteOptions(entry.options) } : entry;
}

/**
 * bin/mailvault of this installation, by absolute path (cron has neither our PATH nor our
 * directory), from the URL of the module asking: one two levels below the project, as src-main/api
 * and src-main/cli are in the sources, and out/main and out/cli once built. Not this module's own
 * URL: it sits deeper in the sources, but is bundled into those files once built.
 */
export function launcherBeside(moduleUrl: string): string {
  return path.resolve(path.dirname(fileURLToPath(moduleUrl)), '../../bin/mailvault');
}
