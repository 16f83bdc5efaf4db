import path from 'node:path';
import readline from 'node:readline/promises';
import { Command, Option } from 'commander';
import { ReportSettingsError, reportFlags } from '../engine/report/report-settings';
import type { CrontabPlace } from '../engine/schedule/crontab';
import {
  defaultSchedule,
  scheduleKey,
  type BackupOptions,
  type ScheduledServer,
} from '../engine/schedule/schedule';
import { asInstalled, launcherBeside, onTheServer, pulledOverSsh } from '../engine/schedule/placement';
import { flushSchedule, installSchedule, readSchedule } from '../engine/schedule/schedule-store';
import {
  formatSchedule,
  parseEntries,
  saveCommand,
  ScheduleSyntaxError,
} from '../engine/schedule/zimbra-syntax';
import { openTransport, type Transport } from '../engine/transport';
import type { ZipMode } from '../engine/target/manifest';
import { checkUnattendedKey, resolveKeyPassphrase } from './key-passphrase';
import { checkPathArgument, parseServer, type ServerFlags, type ServerProfile } from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault zmschedulebackup` (zimbra-facts §1.8): -q query (the default), -s the command that
 * recreates the schedule, -A append, -R replace, -F flush, -D Zimbra's default schedule. The
 * schedule goes where the engine runs: the server's crontab (here with --server local, or over
 * SSH), or with --pull this machine's crontab, running backups pulled over SSH.
 * Every argument is checked before any crontab is read: bad input changes nothing.
 */
interface ScheduleFlags extends ServerFlags {
  query?: boolean;
  save?: boolean;
  append?: boolean;
  replace?: boolean;
  flush?: boolean;
  default?: boolean;
  accounts?: string;
  target?: string;
  zip?: boolean;
  zipStore?: boolean;
  noZip?: boolean;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  excludeHsmBlobs?: boolean;
  includeBlobs?: boolean;
  includeSearchIndex?: boolean;
  includeHsmBlobs?: boolean;
  mailReport?: boolean;
  mailTo?: string;
  mailFrom?: string;
  smtp?: string;
  smtpAuthFile?: string;
  smtpCaFile?: string;
  mailSubjectPrefix?: string;
  sync?: boolean;
  pull?: boolean;
  crontabUser?: string;
  launcher?: string;
  json?: boolean;
}

type Action = 'query' | 'save' | 'append' | 'replace' | 'flush' | 'default';
const ACTION_FLAG: Record<Action, string> = {
  query: '-q',
  save: '-s',
  append: '-A',
  replace: '-R',
  flush: '-F',
  default: '-D',
};

const EMAIL =
  /^(?=.{3,254}$)[A-Za-z0-9!#%+=^_{}~-]+(?:\.[A-Za-z0-9!#%+=^_{}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function actionOf(flags: ScheduleFlags): Action {
  const chosen = (Object.keys(ACTION_FLAG) as Action[]).filter((a) => flags[a]);
  if (chosen.length > 1)
    throw new UsageError(
      `${chosen.map((a) => ACTION_FLAG[a]).join(' and ')}: give one of -q, -s, -A, -R, -F, -D`,
    );
  return chosen[0] ?? 'query';
}

function passThrough(flags: ScheduleFlags): { options: BackupOptions; given: string[] } {
  const given: string[] = [];
  const options: BackupOptions = {};
  if (flags.accounts !== undefined) {
    given.push('-a');
    const list = flags.accounts.split(/[,\s]+/).filter(Boolean);
    if (list.length === 0) throw new UsageError('-a: give all, or the accounts to back up');
    if (!(list.length === 1 && list[0]!.toLowerCase() === 'all')) {
      for (const a of list)
        if (!EMAIL.test(a)) throw new UsageError(`-a ${a}: not an account address (user@domain) or all`);
      options.accounts = list;
    }
  }
  if (flags.target !== undefined) options.target = checkPathArgument('-t', flags.target);
  const zips = [flags.zip && 'deflate', flags.zipStore && 'store', flags.noZip && 'none'].filter(
    Boolean,
  ) as ZipMode[];
  if (zips.length > 1) throw new UsageError('--zip, --zipStore and --noZip exclude each other');
  if (zips[0]) options.zip = zips[0];
  if (flags.excludeHsmBlobs)
    throw new UsageError(
      '--excludeHsmBlobs: mailvault backs up every message volume with the blobs; use --excludeBlobs',
    );
  if (flags.excludeBlobs && flags.includeBlobs)
    throw new UsageError('--excludeBlobs and --includeBlobs exclude each other');
  if (flags.excludeSearchIndex && flags.includeSearchIndex)
    throw new UsageError('--excludeSearchIndex and --includeSearchIndex exclude each other');
  if (flags.excludeBlobs) options.excludeBlobs = true;
  if (flags.excludeSearchIndex) options.excludeSearchIndex = true;
  const mail = {
    mailTo: flags.mailTo,
    mailFrom: flags.mailFrom,
    smtp: flags.smtp,
    smtpAuthFile: flags.smtpAuthFile,
    smtpCaFile: flags.smtpCaFile,
    mailSubjectPrefix: flags.mailSubjectPrefix,
  };
  const mailFlag = Object.entries(mail).find(([, v]) => v !== undefined);
  if (mailFlag && !flags.mailReport)
    throw new UsageError(
      `--${mailFlag[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --mail-report`,
    );
  try {
    reportFlags(mail);
  } catch (error) {
    if (error instanceof ReportSettingsError) throw new UsageError(error.message);
    throw error;
  }
  if (flags.mailReport) options.mailReport = true;
  if (flags.mailTo) options.mailTo = flags.mailTo.split(',').map((a) => a.trim());
  if (flags.mailFrom) options.mailFrom = flags.mailFrom;
  if (flags.smtp) options.smtp = flags.smtp;
  if (flags.smtpAuthFile) options.smtpAuthFile = flags.smtpAuthFile;
  if (flags.smtpCaFile) options.smtpCaFile = flags.smtpCaFile;
  if (flags.mailSubjectPrefix) options.mailSubjectPrefix = flags.mailSubjectPrefix;
  for (const [flag, on] of [
    ['-t', flags.target],
    ['zip', zips[0]],
    ['exclude', flags.excludeBlobs || flags.excludeSearchIndex],
    ['--mail-report', flags.mailReport],
  ] as const)
    if (on) given.push(flag);
  return { options, given };
}

function scheduledServer(profile: ServerProfile, flags: ScheduleFlags): ScheduledServer {
  if (!flags.pull) return onTheServer(profile.zimbraHome);
  if (profile.kind !== 'ssh')
    throw new UsageError('--pull: give the server to pull from with --server ssh://user@host');
  if (!flags.hostKey)
    throw new UsageError(
      "--pull: pin the server's host key with --host-key (cron cannot ask whether to trust it)",
    );
  if (profile.identity !== undefined) checkUnattendedKey(profile.identity, profile.passphraseFile);
  return pulledOverSsh(
    { user: profile.username, host: profile.host, port: profile.port },
    profile.zimbraHome,
    {
      hostKey: flags.hostKey,
      identity: flags.identity ? path.resolve(flags.identity) : undefined,
      passphraseFile: flags.passphraseFile ? path.resolve(flags.passphraseFile) : undefined,
    },
  );
}

/** The crontab to use: the server's (here or over SSH), or this machine's for --pull. */
async function crontabTransport(profile: ServerProfile, flags: ScheduleFlags): Promise<Transport> {
  if (profile.kind === 'local' || flags.pull) return openTransport({ kind: 'local', name: 'this machine' });
  await resolveKeyPassphrase(profile);
  const address = `ssh://${profile.username}@${profile.host}:${profile.port}`;
  return openTransport(
    {
      kind: 'ssh',
      name: profile.name,
      host: profile.host,
      port: profile.port,
      username: profile.username,
      privateKeyPath: profile.identity,
      passphrase: profile.passphrase,
      hostKeyFingerprint: profile.hostKey,
    },
    {
      // As zmbackup does: trust on first use only with a person at a terminal.
      onUnknownHostKey: async (fingerprint) => {
        if (!process.stdin.isTTY || !process.stderr.isTTY)
          throw new UsageError(
            `${address} offers host key ${fingerprint}; pin it with --host-key ${fingerprint} after checking it on the server`,
          );
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        try {
          const answer = await rl.question(`${address} offers host key ${fingerprint}. Trust it? (yes/no) `);
          return answer.trim().toLowerCase() === 'yes';
        } finally {
          rl.close();
        }
      },
    },
  );
}

function crontabCommand(flags: ScheduleFlags): string[] {
  if (flags.crontabUser === undefined) return ['crontab'];
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(flags.crontabUser))
    throw new UsageError(`--crontab-user ${flags.crontabUser}: not a user name`);
  return ['crontab', '-u', flags.crontabUser];
}

async function run(flags: ScheduleFlags, words: string[]): Promise<void> {
  const action = actionOf(flags);
  const { options, given } = passThrough(flags);
  const takesEntries = action === 'append' || action === 'replace';
  if (!takesEntries && words.length > 0)
    throw new UsageError(`${words[0]}: ${ACTION_FLAG[action]} takes no schedule entries (use -A or -R)`);
  if (given.length > 0 && !takesEntries && action !== 'default')
    throw new UsageError(`${given[0]}: options apply to -A, -R and -D, not ${ACTION_FLAG[action]}`);
  let entries;
  try {
    entries = parseEntries(words, options).map(asInstalled);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  if (takesEntries && entries.length === 0)
    throw new UsageError(
      `${ACTION_FLAG[action]}: give the schedule, e.g. f "0 1 * * 6" i "0 1 * * 0-5" d 1m "0 0 * * *"`,
    );
  if (action === 'default') entries = defaultSchedule(options).map(asInstalled);
  const profile = parseServer(flags);
  const server = scheduledServer(profile, flags);
  if (server.kind === 'ssh')
    for (const e of entries)
      if (e.kind !== 'delete' && !e.options.target)
        throw new UsageError('-t: a pulled backup needs its target directory on this machine');
  const launcher =
    flags.launcher === undefined
      ? launcherBeside(import.meta.url)
      : checkPathArgument('--launcher', flags.launcher);
  const command = crontabCommand(flags);
  const transport = await crontabTransport(profile, flags);
  const place: CrontabPlace = { transport, command };
  const reach = [
    ...(flags.server !== 'local' ? ['--server', flags.server] : []),
    ...(flags.identity ? ['--identity', path.resolve(flags.identity)] : []),
    ...(flags.passphraseFile ? ['--passphrase-file', path.resolve(flags.passphraseFile)] : []),
    ...(flags.hostKey ? ['--host-key', flags.hostKey] : []),
    ...(flags.pull ? ['--pull'] : []),
    ...(flags.crontabUser ? ['--crontab-user', flags.crontabUser] : []),
    ...(flags.launcher ? ['--launcher', launcher] : []),
    '--zimbra-home',
    profile.zimbraHome,
  ];
  const where = `${transport.name}'s crontab (${command.join(' ')}), block "${scheduleKey(server)}"`;
  try {
    if (action === 'query' || action === 'save') {
      const current = await readSchedule(place, server);
      if (flags.json)
        console.log(
          JSON.stringify({
            where,
            entries: current.entries,
            lines: current.lines,
            launcher: current.launcher ?? null,
            command: saveCommand(current.entries, server, reach),
          }),
        );
      else if (action === 'save') console.log(saveCommand(current.entries, server, reach));
      else process.stdout.write(formatSchedule(current.entries));
      return;
    }
    if (action === 'flush') {
      await flushSchedule(place, server);
      console.log(flags.json ? JSON.stringify({ where, entries: [] }) : `Schedule removed from ${where}.`);
      return;
    }
    const all = action === 'append' ? [...(await readSchedule(place, server)).entries, ...entries] : entries;
    const lines = await installSchedule(place, server, all, launcher);
    if (flags.json) console.log(JSON.stringify({ where, entries: all, lines }));
    else process.stdout.write(`Schedule installed in ${where}.\n${formatSchedule(all)}`);
  } finally {
    await transport.close();
  }
}

export function scheduleCommand(): Command {
  const command = new Command('zmschedulebackup')
    .description(
      'show or set the backup schedule: f "<cron>" (full), i "<cron>" (incremental), d <age> "<cron>" (delete)',
    )
    .argument('[entries...]', 'f "<cron>", i "<cron>", d <Nd|Nm|Ny> "<cron>"')
    .option('-q, --query', 'show the schedule (the default)')
    .option('-s, --save', 'print the schedule as one command that installs it again')
    .option('-A, --append', 'add entries to the schedule')
    .option('-R, --replace', 'replace the whole schedule (remember a delete entry)')
    .option('-F, --flush', 'remove the schedule')
    .option(
      '-D, --default',
      "install Zimbra's default: full Saturday 01:00, incremental Sunday-Friday 01:00, delete older than 1m at 00:00",
    )
    .option('-a, --accounts <accounts>', 'zmbackup -a: all, or accounts separated by commas')
    .option('-t, --target <dir>', 'zmbackup -t: backup target directory (for every entry)')
    .addOption(new Option('-z, --zip', 'compressed zip archives'))
    .addOption(new Option('--zipStore', 'zip archives without compression'))
    .addOption(new Option('-n, --noZip', 'plain files instead of zip archives'))
    .option('--excludeBlobs', 'leave out message blobs')
    .option('--excludeSearchIndex', 'leave out the search index')
    .option('--excludeHsmBlobs', 'not supported (refused with a reason)')
    .option('--includeBlobs', 'include message blobs (the default)')
    .option('--includeSearchIndex', 'include the search index (the default)')
    .option('--includeHsmBlobs', 'include HSM volumes (the default)')
    .option('--mail-report', 'mail a report after each run')
    .option('--mail-to <addresses>', 'report recipients, comma-separated')
    .option('--mail-from <address>', 'report sender')
    .option('--smtp <[smtps://]host[:port]>', 'SMTP server for the report (smtps:// for implicit TLS)')
    .option(
      '--smtp-auth-file <file>',
      'SMTP user and password (two lines), on the machine that runs the backup',
    )
    .option('--smtp-ca-file <file>', 'PEM certificates to trust for the SMTP server (a private CA)')
    .option('--mail-subject-prefix <text>', 'report subject prefix')
    .option('--sync', 'accepted for Zimbra compatibility: scheduled runs always wait for the result')
    .option('--server <server>', 'local, ssh://user@host[:port], or lab[:N]', 'local')
    .option('--identity <file>', 'SSH private key (default: the SSH agent)')
    .option(
      '--passphrase-file <file>',
      'the file whose first line opens an encrypted --identity key (a pulled schedule runs it from cron)',
    )
    .option('--host-key <fingerprint>', 'pin the SSH host key (SHA256:…)')
    .option('--zimbra-home <dir>', 'where Zimbra is installed on the server (default /opt/zimbra)')
    .option('--pull', "install in this machine's crontab, pulling backups from --server over SSH")
    .option('--crontab-user <user>', "use that user's crontab (crontab -u)")
    .option('--launcher <path>', 'the mailvault launcher cron runs (default: this one, by its absolute path)')
    .option('--json', 'print JSON');
  command.action(async (words: string[], flags: ScheduleFlags) => run(flags, words));
  return command;
}
