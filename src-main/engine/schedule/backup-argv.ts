import { zipModes, type ZipMode } from '../target/manifest';
import type { BackupOptions, EntryKind, ScheduledServer } from './schedule';

/**
 * The zmbackup command line of one schedule entry, and the way back: the crontab holds only
 * this command line, so reading a schedule means reading these arguments again.
 */
export class BackupArgvError extends Error {}

const ZIP_FLAG: Record<ZipMode, string> = { deflate: '--zip', store: '--zipStore', none: '--noZip' };

/** Options in the order zmbackup and zmschedulebackup print them. */
export function optionArgv(options: BackupOptions, accountsSeparator: 'words' | 'comma'): string[] {
  const argv: string[] = [];
  if (options.accounts?.length)
    argv.push('-a', ...(accountsSeparator === 'comma' ? [options.accounts.join(',')] : options.accounts));
  if (options.target) argv.push('-t', options.target);
  if (options.zip) argv.push(ZIP_FLAG[options.zip]);
  if (options.excludeBlobs) argv.push('--excludeBlobs');
  if (options.excludeSearchIndex) argv.push('--excludeSearchIndex');
  if (options.mailReport) argv.push('--mail-report');
  if (options.mailTo?.length) argv.push('--mail-to', options.mailTo.join(','));
  if (options.mailFrom) argv.push('--mail-from', options.mailFrom);
  if (options.smtp) argv.push('--smtp', options.smtp);
  if (options.smtpAuthFile) argv.push('--smtp-auth-file', options.smtpAuthFile);
  if (options.smtpCaFile) argv.push('--smtp-ca-file', options.smtpCaFile);
  if (options.mailSubjectPrefix) argv.push('--mail-subject-prefix', options.mailSubjectPrefix);
  return argv;
}

export function serverArgv(server: ScheduledServer): string[] {
  if (server.kind === 'local') return ['-s', 'local', '--zimbra-home', server.zimbraHome];
  return [
    '-s',
    server.url,
    ...(server.identity ? ['--identity', server.identity] : []),
    ...(server.passphraseFile ? ['--passphrase-file', server.passphraseFile] : []),
    '--host-key',
    server.hostKey,
    '--zimbra-home',
    server.zimbraHome,
  ];
}

/**
 * zmbackup's arguments for one entry. Always --sync (cron must wait for the result to exit with
 * it) and --unattended (the run records its attempt). -a defaults to all, as zmbackup needs it.
 */
export function zmbackupArgv(
  entry: { kind: EntryKind; age?: string; options: BackupOptions },
  server: ScheduledServer,
): string[] {
  const what =
    entry.kind === 'delete'
      ? ['-del', entry.age!]
      : [entry.kind === 'full' ? '-f' : '-i', ...(entry.options.accounts?.length ? [] : ['-a', 'all'])];
  return [
    'zmbackup',
    '--unattended',
    '--sync',
    ...what,
    ...optionArgv(entry.options, 'words'),
    ...serverArgv(server),
  ];
}

/** Reads back what zmbackupArgv wrote (argv without the launcher); throws on anything else. */
export function parseZmbackupArgv(argv: string[]): {
  kind: EntryKind;
  age?: string;
  options: BackupOptions;
  server: ScheduledServer;
} {
  if (argv[0] !== 'zmbackup') throw new BackupArgvError(`not a zmbackup command: ${argv[0] ?? '(empty)'}`);
  let kind: EntryKind | undefined;
  let age: string | undefined;
  const options: BackupOptions = {};
  let serverUrl: string | undefined;
  let identity: string | undefined;
  let passphraseFile: string | undefined;
  let hostKey: string | undefined;
  let zimbraHome: string | undefined;
  const setKind = (k: EntryKind) => {
    if (kind && kind !== k) throw new BackupArgvError(`both ${kind} and ${k} in one line`);
    kind = k;
  };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new BackupArgvError(`${arg} without a value`);
      return v;
    };
    switch (arg) {
      case '--unattended':
      case '--sync':
        break;
      case '-f':
        setKind('full');
        break;
      case '-i':
        setKind('incremental');
        break;
      case '-del':
      case '--del':
        setKind('delete');
        age = value();
        break;
      case '-a': {
        const list: string[] = [];
        while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) list.push(argv[++i]!);
        if (list.length === 0) throw new BackupArgvError('-a without accounts');
        if (!(list.length === 1 && list[0] === 'all')) options.accounts = list;
        break;
      }
      case '-t':
        options.target = value();
        break;
      case '--zip':
      case '--zipStore':
      case '--noZip':
        options.zip = zipModes.find((m) => ZIP_FLAG[m] === arg);
        break;
      case '--excludeBlobs':
        options.excludeBlobs = true;
        break;
      case '--excludeSearchIndex':
        options.excludeSearchIndex = true;
        break;
      case '--mail-report':
        options.mailReport = true;
        break;
      case '--mail-to':
        options.mailTo = value().split(',');
        break;
      case '--mail-from':
        options.mailFrom = value();
        break;
      case '--smtp':
        options.smtp = value();
        break;
      case '--smtp-auth-file':
        options.smtpAuthFile = value();
        break;
      case '--smtp-ca-file':
        options.smtpCaFile = value();
        break;
      case '--mail-subject-prefix':
        options.mailSubjectPrefix = value();
        break;
      case '-s':
        serverUrl = value();
        break;
      case '--identity':
        identity = value();
        break;
      case '--passphrase-file':
        passphraseFile = value();
        break;
      case '--host-key':
        hostKey = value();
        break;
      case '--zimbra-home':
        zimbraHome = value();
        break;
      default:
        throw new BackupArgvError(`unexpected argument ${arg}`);
    }
  }
  if (!kind) throw new BackupArgvError('no -f, -i or -del');
  if (!zimbraHome) throw new BackupArgvError('no --zimbra-home');
  let server: ScheduledServer;
  if (serverUrl === undefined || serverUrl === 'local') server = { kind: 'local', zimbraHome };
  else {
    if (!hostKey) throw new BackupArgvError(`${serverUrl} without --host-key`);
    server = {
      kind: 'ssh',
      url: serverUrl,
      hostKey,
      zimbraHome,
      ...(identity ? { identity } : {}),
      ...(passphraseFile ? { passphraseFile } : {}),
    };
  }
  return { kind, ...(age !== undefined ? { age } : {}), options, server };
}
