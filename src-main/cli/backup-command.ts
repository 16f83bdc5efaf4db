import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { runFullBackup } from '../engine/backup/full-backup';
import { runIncrementalBackup } from '../engine/backup/incremental-backup';
import { deleteSessions, DeleteArgumentError, parseDeleteArgument } from '../engine/target/delete-sessions';
import { readLock, TargetLockedError } from '../engine/target/lock';
import { lockHolderLiveness } from '../engine/target/lock-holder';
import { isLabel } from '../engine/target/labels';
import { readManifest } from '../engine/target/manifest';
import { sessionDir, targetPaths } from '../engine/target/layout';
import type { Manifest, ZipMode } from '../engine/target/manifest';
import { DEFAULT_LAB_DIR } from '../lab/sandbox';
import { ENGINE_VERSION } from './version';
import {
  addServerOptions,
  checkPathArgument,
  openServer,
  parseServer,
  type ServerFlags,
  type ServerProfile,
} from './server-option';
import { inheritPassphrase, resolveKeyPassphrase } from './key-passphrase';
import { UsageError } from './usage-error';
import { addRunRecordOptions, recordedAction } from './run-record';

/**
 * `mailvault zmbackup` and `zmbackupabort`, with zmbackup's flags (zimbra-facts §1.2). A backup
 * is asynchronous unless --sync: a detached worker runs it, the label is printed at once, and
 * progress is read from the target (tmp/<label>/status.json) by zmbackupquery or the console.
 */
interface BackupFlags extends ServerFlags {
  full?: boolean;
  incremental?: boolean;
  accounts?: string[];
  target?: string;
  sync?: boolean;
  zip?: boolean;
  zipStore?: boolean;
  noZip?: boolean;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  json?: boolean;
  worker?: boolean;
  del?: string;
  dryRun?: boolean;
  /** Worker only: the parent sends the key's passphrase, typed at its terminal, as the first message. */
  passphraseIpc?: boolean;
}

// What Zimbra's addresses are made of (ASCII dot-atom @ host name): no quotes, spaces, shell or
// LDAP filter characters, so a value that reaches a log, a filter or a query is only an address.
const EMAIL =
  /^(?=.{3,254}$)[A-Za-z0-9!#%+=^_{}~-]+(?:\.[A-Za-z0-9!#%+=^_{}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function defaultTarget(profile: ServerProfile, flags: ServerFlags): string | undefined {
  if (/^lab(:\d+)?$/.test(flags.server)) return path.join(DEFAULT_LAB_DIR, 'backup');
  return profile.kind === 'local' ? `${profile.zimbraHome}/backup` : undefined;
}

function zipMode(flags: BackupFlags): ZipMode {
  const chosen = [flags.zip && 'deflate', flags.zipStore && 'store', flags.noZip && 'none'].filter(
    Boolean,
  ) as ZipMode[];
  if (chosen.length > 1) throw new UsageError('--zip, --zipStore and --noZip exclude each other');
  return chosen[0] ?? 'store';
}

function validate(flags: BackupFlags): {
  profile: ServerProfile;
  target: string;
  accounts: 'all' | string[];
  zip: ZipMode;
} {
  if (flags.incremental && flags.full) throw new UsageError('-f and -i exclude each other');
  if (!flags.full && !flags.incremental)
    throw new UsageError('say which backup: -f (full) or -i (incremental)');
  const list = flags.accounts ?? [];
  if (list.length === 0) throw new UsageError('-a: give all, or the accounts to back up');
  let accounts: 'all' | string[] = 'all';
  if (!(list.length === 1 && list[0]!.toLowerCase() === 'all')) {
    for (const a of list)
      if (!EMAIL.test(a)) throw new UsageError(`-a ${a}: not an account address (user@domain) or all`);
    accounts = list;
  }
  const profile = parseServer(flags);
  const target = flags.target ?? defaultTarget(profile, flags);
  if (!target)
    throw new UsageError('-t: give the backup target directory (there is no default for a remote server)');
  checkPathArgument('-t', target);
  return { profile, target, accounts, zip: zipMode(flags) };
}

/**
 * Fault injection for the tests: MAILVAULT_FAILPOINT=in-maintenance:N kills the process (SIGKILL,
 * no cleanup) while the Nth account is in maintenance, where a random kill rarely lands;
 * MAILVAULT_FAILPOINT=slow-maintenance:MS holds every window MS long (to abort a backup mid-way).
 */
function failpoint(): ((account: { email: string }) => Promise<void>) | undefined {
  const [kind, value] = (process.env.MAILVAULT_FAILPOINT ?? '').split(':');
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  if (kind === 'slow-maintenance') return () => new Promise((resolve) => setTimeout(resolve, n));
  if (kind !== 'in-maintenance') return undefined;
  let seen = 0;
  return async () => {
    if (++seen === n) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * MAILVAULT_FAILPOINT=incr-step:<step>[:<n>] kills an incremental (SIGKILL) at the nth (default
 * first) checkpoint named <step>: system, accounts, log (after each redo log copied), directory,
 * committed (after the commit, before server logs are deleted).
 */
function incrementalFailpoint(): ((step: string) => Promise<void>) | undefined {
  const [kind, name, nth] = (process.env.MAILVAULT_FAILPOINT ?? '').split(':');
  if (kind !== 'incr-step' || !name) return undefined;
  const n = nth === undefined ? 1 : Number(nth);
  let seen = 0;
  return async (step) => {
    if (step.split(' ')[0] === name && ++seen === n) process.kill(process.pid, 'SIGKILL');
  };
}

/** MAILVAULT_FAILPOINT=delete-step:<n> kills -del (SIGKILL) at its nth step (rename, log, removed). */
function deleteFailpoint(): (() => void) | undefined {
  const [kind, nth] = (process.env.MAILVAULT_FAILPOINT ?? '').split(':');
  const n = Number(nth);
  if (kind !== 'delete-step' || !Number.isInteger(n) || n <= 0) return undefined;
  let seen = 0;
  return () => {
    if (++seen === n) process.kill(process.pid, 'SIGKILL');
  };
}

function printSummary(flags: BackupFlags, manifest: Manifest, target: string, extra: object = {}): void {
  const errors = manifest.errors.length;
  if (flags.json)
    console.log(
      JSON.stringify({
        label: manifest.label,
        status: manifest.status,
        accounts: manifest.accounts.length,
        errors,
        target,
        ...extra,
      }),
    );
  else {
    console.log(
      `${manifest.label} ${manifest.status}: ${manifest.accounts.length} account(s), ${errors} error(s), in ${target}`,
    );
    for (const error of manifest.errors)
      console.log(`  error: ${error.email ? `${error.email}: ` : ''}${error.message}`);
  }
}

/** -i: the incremental, then a full backup of the accounts no full in the target holds (SPEC §1). */
async function runIncrementalHere(
  flags: BackupFlags,
  onLabel: (label: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const { profile, target, accounts, zip } = validate(flags);
  const server = await openServer(profile);
  try {
    const result = await runIncrementalBackup(server, {
      target,
      accounts,
      engineVersion: ENGINE_VERSION,
      onLabel,
      onWarning: (message) => console.error(`warning: ${message}`),
      checkpoint: incrementalFailpoint(),
    });
    const { manifest, pruned } = result;
    printSummary(flags, manifest, target, {
      redoLogs: manifest.redoLogs?.length ?? 0,
      deletedFromServer: pruned.deleted.length,
      keptOnServer: pruned.kept.length,
    });
    if (!flags.json)
      console.log(
        `  redo logs: ${manifest.redoLogs?.length ?? 0} copied; on the server ${pruned.deleted.length} deleted, ${pruned.kept.length} kept until older than the keep time`,
      );
    for (const problem of pruned.problems) console.error(`warning: ${problem}`);
    let code = manifest.status === 'completed' ? 0 : 1;
    if (result.needFull.length > 0 && !signal.aborted) {
      if (!flags.json)
        console.log(`  ${result.needFull.length} account(s) have no full backup here: taking one now`);
      const full = await runFullBackup(server, {
        target,
        accounts: result.needFull.map((a) => a.email),
        zip,
        blobs: !flags.excludeBlobs,
        index: !flags.excludeSearchIndex,
        engineVersion: ENGINE_VERSION,
        signal,
        reconnect: () => openServer(profile),
      });
      printSummary(flags, full, target);
      if (full.status !== 'completed') code = 1;
    }
    return code;
  } finally {
    await server.close();
  }
}

/** -del: what goes is shown first; --dry-run stops there. */
async function runDelete(flags: BackupFlags): Promise<number> {
  if (flags.full || flags.incremental) throw new UsageError('-del excludes -f and -i');
  const spec = (() => {
    try {
      return parseDeleteArgument(flags.del!);
    } catch (error) {
      if (error instanceof DeleteArgumentError) throw new UsageError(error.message);
      throw error;
    }
  })();
  const target = flags.target ?? defaultTarget(parseServer(flags), flags);
  if (!target) throw new UsageError('-t: give the backup target directory');
  checkPathArgument('-t', target);
  if (!fs.existsSync(path.join(target, 'sessions')))
    throw new UsageError(`-t ${target}: not a backup target (no sessions/)`);
  try {
    const plan = await deleteSessions(target, spec, {
      dryRun: flags.dryRun,
      checkpoint: deleteFailpoint(),
      onPlan: (p) => {
        if (flags.json) return;
        const verb = flags.dryRun ? 'Would delete' : 'Deleting';
        console.log(
          `${verb} ${p.sessions.length} session(s) and ${p.redoLogs.length} redo log(s) from ${target}:`,
        );
        for (const s of p.sessions)
          console.log(`  ${s.label}${s.manifest ? ` (${s.manifest.status})` : ' (invalid)'}`);
        for (const log of p.redoLogs) console.log(`  redologs/${log}`);
      },
    });
    if (flags.json)
      console.log(
        JSON.stringify({
          dryRun: !!flags.dryRun,
          sessions: plan.sessions.map((s) => s.label),
          redoLogs: plan.redoLogs,
        }),
      );
    else if (!flags.dryRun) console.log('Done.');
    return 0;
  } catch (error) {
    if (error instanceof DeleteArgumentError) throw new UsageError(error.message);
    if (error instanceof TargetLockedError) throw new Error(`nothing deleted: ${error.message}`);
    throw error;
  }
}

async function runHere(
  flags: BackupFlags,
  onLabel: (label: string) => void,
  signal: AbortSignal,
): Promise<number> {
  if (flags.incremental) return runIncrementalHere(flags, onLabel, signal);
  const { profile, target, accounts, zip } = validate(flags);
  const server = await openServer(profile);
  try {
    const manifest = await runFullBackup(server, {
      target,
      accounts,
      zip,
      blobs: !flags.excludeBlobs,
      index: !flags.excludeSearchIndex,
      engineVersion: ENGINE_VERSION,
      onLabel,
      onWarning: (message) => console.error(`warning: ${message}`),
      signal,
      inMaintenance: failpoint(),
      reconnect: () => openServer(profile),
    });
    const errors = manifest.accounts.filter((a) => a.status === 'ERROR').length;
    const summary = {
      label: manifest.label,
      status: manifest.status,
      accounts: manifest.accounts.length,
      errors,
      target,
    };
    if (flags.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `${manifest.label} ${manifest.status}: ${manifest.accounts.length} account(s), ${errors} error(s), in ${target}`,
      );
      // Which account failed and why: "1 error(s)" alone leaves the administrator guessing.
      for (const error of manifest.errors)
        console.log(`  error: ${error.email ? `${error.email}: ` : ''}${error.message}`);
    }
    return manifest.status === 'completed' ? 0 : 1;
  } finally {
    await server.close();
  }
}

/** The worker half of an asynchronous backup: tells its parent the label, then works alone. */
async function runAsWorker(flags: BackupFlags): Promise<number> {
  if (flags.passphraseIpc)
    inheritPassphrase(
      await new Promise<string>((resolve) =>
        process.once('message', (m) => resolve(String((m as { passphrase?: unknown }).passphrase ?? ''))),
      ),
    );
  const abort = new AbortController();
  process.on('SIGTERM', () => abort.abort());
  process.on('SIGINT', () => abort.abort());
  try {
    return await runHere(
      flags,
      (label) => {
        process.send?.({ label });
        process.disconnect?.();
      },
      abort.signal,
    );
  } catch (error) {
    if (process.connected)
      process.send?.({ error: (error as Error).message, usage: error instanceof UsageError });
    throw error;
  }
}

/** Starts the detached worker and returns once it has a label (or has failed before one). */
async function startWorker(flags: BackupFlags, argv: string[]): Promise<number> {
  const { target, profile } = validate(flags); // bad input fails here, before anything starts
  // An encrypted key is opened here, at the terminal: the worker has none to ask at.
  await resolveKeyPassphrase(profile);
  const typed = profile.kind === 'ssh' && profile.passphrase !== undefined && !profile.passphraseFile;
  const logs = path.join(targetPaths(target).root, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const log = fs.openSync(path.join(logs, `worker-${Date.now()}-${process.pid}.log`), 'a', 0o600);
  const child = fork(process.argv[1]!, [...argv, '--worker', ...(typed ? ['--passphrase-ipc'] : [])], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    execArgv: process.execArgv,
  });
  fs.closeSync(log);
  if (typed && profile.kind === 'ssh') child.send({ passphrase: profile.passphrase });
  const reply = await new Promise<{ label?: string; error?: string; usage?: boolean }>((resolve) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) =>
      resolve({ error: `the backup worker exited (${code}) before it had a label` }),
    );
  });
  child.unref();
  child.disconnect?.();
  if (reply.label) {
    console.log(flags.json ? JSON.stringify({ label: reply.label, target }) : reply.label);
    return 0;
  }
  if (reply.usage) throw new UsageError(reply.error ?? 'bad input');
  throw new Error(reply.error ?? 'the backup worker failed');
}

export function backupCommand(argv: readonly string[]): Command {
  const command = new Command('zmbackup')
    .description('back up a server: -f full, -i incremental (redo logs since the last backup)')
    .option('-f, --full', 'full backup')
    .option('-i, --incremental', 'incremental backup')
    .option(
      '--del <label|date|age>',
      'delete that session and all earlier ones, or those older than a date or an age (7d, 1m, 1y) (Zimbra: -del)',
    )
    .option('--dry-run', 'with -del: only show what would be deleted')
    .option('-a, --accounts <accounts...>', 'all, or the accounts to back up')
    .option('-t, --target <dir>', 'backup target directory')
    .option('--sync', 'wait for the backup to finish')
    .addOption(new Option('--zip', 'compressed zip archives'))
    .addOption(new Option('--zipStore', 'zip archives without compression (the default)'))
    .addOption(new Option('--noZip', 'plain files instead of zip archives'))
    .option('--excludeBlobs', 'leave out message blobs')
    .option('--excludeSearchIndex', 'leave out the search index')
    .option('--json', 'print JSON')
    .addOption(new Option('--worker').hideHelp())
    .addOption(new Option('--passphrase-ipc').hideHelp());
  addServerOptions(command, false);
  addRunRecordOptions(command);
  const act = async (flags: BackupFlags) => {
    let code: number;
    if (flags.del !== undefined) code = await runDelete(flags);
    else if (flags.worker) code = await runAsWorker(flags);
    else if (flags.sync)
      code = await runHere(
        flags,
        (label) => !flags.json && console.error(`${label} started`),
        new AbortController().signal,
      );
    else code = await startWorker(flags, [...argv]);
    process.exitCode = code;
  };
  // --unattended and --mail-report: the attempt record, the report mail, an honest exit status.
  command.action(recordedAction((flags: BackupFlags) => defaultTarget(parseServer(flags), flags), act));
  return command;
}

export function abortCommand(): Command {
  return new Command('zmbackupabort')
    .description('stop a running backup cleanly: the session is kept, marked aborted')
    .requiredOption('--lb <label>', 'label of the running backup (Zimbra: -lb)')
    .requiredOption('-t, --target <dir>', 'backup target directory')
    .action(async (flags: { lb: string; target: string }) => {
      if (!isLabel(flags.lb))
        throw new UsageError(`-lb ${flags.lb}: not a session label (full-YYYYMMDD.HHMMSS.mmm)`);
      checkPathArgument('-t', flags.target);
      const lock = await readLock(flags.target);
      if (lock.state !== 'held' || lock.info.label !== flags.lb || lockHolderLiveness(lock.info) === 'dead') {
        throw new Error(`no backup ${flags.lb} is running in ${flags.target}`);
      }
      process.kill(lock.info.pid, 'SIGTERM');
      for (let waited = 0; waited < 600_000; waited += 200) {
        const done = await readManifest(sessionDir(flags.target, flags.lb));
        if (done.state === 'complete') {
          console.log(`${flags.lb} ${done.manifest.status}`);
          return;
        }
        if ((await readLock(flags.target)).state === 'free') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      console.log(`${flags.lb} stopped`);
    });
}
