import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { RestorePlanError } from '../engine/restore/restore-plan';
import { runRestore, type RestoreResult } from '../engine/restore/run-restore';
import { isLabel } from '../engine/target/labels';
import { TargetLockedError } from '../engine/target/lock';
import { parseZimbraTime, TimeArgumentError } from '../engine/target/zimbra-time';
import { DEFAULT_LAB_DIR } from '../lab/sandbox';
import {
  addServerOptions,
  openServer,
  parseServer,
  type ServerFlags,
  type ServerProfile,
} from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault zmrestore` with zmrestore's flags (zimbra-facts §1.4): accounts from their full,
 * brought forward by redo replay to a point in time (-restoreToTime, -restoreToIncrLabel,
 * -restoreToRedoSeq; the earliest wins), or the full only (-rf); into a new account (-ca -pre),
 * with the LDAP entry (-ra), system data (-sys). Zimbra's single-dash long flags reach commander
 * with two dashes (main.ts ZIMBRA_LONG_FLAGS).
 */
interface RestoreFlags extends ServerFlags {
  account?: string[];
  lb?: string;
  label?: string;
  restoreToTime?: string;
  restoreToIncrLabel?: string;
  restoreToRedoSeq?: string;
  rf?: boolean;
  restoreFullBackupOnly?: boolean;
  br?: boolean;
  backedupRedologsOnly?: boolean;
  ca?: boolean;
  createAccount?: boolean;
  pre?: string;
  prefix?: string;
  ra?: boolean;
  restoreAccount?: boolean;
  sys?: boolean;
  systemData?: boolean;
  continueOnError?: boolean;
  skipDeletedAccounts?: boolean;
  skipDeletes?: boolean;
  ignoreRedoErrors?: boolean;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  target?: string;
  threads?: string;
  json?: boolean;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function defaultTarget(profile: ServerProfile, flags: ServerFlags): string | undefined {
  if (/^lab(:\d+)?$/.test(flags.server)) return path.join(DEFAULT_LAB_DIR, 'backup');
  return profile.kind === 'local' ? `${profile.zimbraHome}/backup` : undefined;
}

export function positiveInteger(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${flag} ${value}: not a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  return Number(value);
}

export function timeArgument(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseZimbraTime(value);
  } catch (error) {
    if (error instanceof TimeArgumentError) throw new UsageError(`${flag} ${error.message}`);
    throw error;
  }
}

function checkTarget(target: string | undefined): string {
  if (!target)
    throw new UsageError('-t: give the backup target directory (there is no default for a remote server)');
  if (!path.isAbsolute(target)) throw new UsageError(`-t ${target}: not an absolute path`);
  if (!fs.existsSync(path.join(target, 'sessions')))
    throw new UsageError(`-t ${target}: not a backup target (no sessions/)`);
  return target;
}

function validate(flags: RestoreFlags) {
  const list = flags.account ?? [];
  const systemData = !!(flags.sys || flags.systemData);
  if (list.length === 0 && !systemData)
    throw new UsageError('-a: give all, or the accounts to restore (or -sys)');
  let accounts: 'all' | string[] = 'all';
  if (!(list.length === 1 && list[0]!.toLowerCase() === 'all')) {
    for (const a of list)
      if (!EMAIL.test(a)) throw new UsageError(`-a ${a}: not an account address (user@domain) or all`);
    accounts = list;
  }
  const label = flags.lb ?? flags.label;
  if (label !== undefined && (!isLabel(label) || !label.startsWith('full-')))
    throw new UsageError(`-lb ${label}: not a full backup label (full-yyyyMMdd.HHmmss.SSS)`);
  if (
    flags.restoreToIncrLabel !== undefined &&
    (!isLabel(flags.restoreToIncrLabel) || !flags.restoreToIncrLabel.startsWith('incr-'))
  )
    throw new UsageError(
      `-restoreToIncrLabel ${flags.restoreToIncrLabel}: not an incremental label (incr-yyyyMMdd.HHmmss.SSS)`,
    );
  const createAccount = !!(flags.ca || flags.createAccount);
  const prefix = flags.pre ?? flags.prefix;
  const restoreAccount = !!(flags.ra || flags.restoreAccount);
  if (createAccount && prefix === undefined) throw new UsageError('-ca needs -pre <prefix>');
  if (prefix !== undefined && !createAccount) throw new UsageError(`-pre ${prefix}: only valid with -ca`);
  if (prefix !== undefined && !/^[A-Za-z0-9._+-]+$/.test(prefix))
    throw new UsageError(`-pre ${prefix}: use letters, digits, and . _ + - only`);
  if (createAccount && restoreAccount) throw new UsageError('-ca and -ra exclude each other');
  const fullOnly = !!(flags.rf || flags.restoreFullBackupOnly);
  const restoreToTime = timeArgument('-restoreToTime', flags.restoreToTime);
  const restoreToRedoSeq = positiveInteger('-restoreToRedoSeq', flags.restoreToRedoSeq);
  if (fullOnly && (restoreToTime !== undefined || restoreToRedoSeq !== undefined || flags.restoreToIncrLabel))
    throw new UsageError(
      '-rf restores the full only: it excludes -restoreToTime, -restoreToIncrLabel and -restoreToRedoSeq',
    );
  const profile = parseServer(flags);
  const target = checkTarget(flags.target ?? defaultTarget(profile, flags));
  return {
    profile,
    options: {
      target,
      accounts: list.length === 0 ? ([] as string[]) : accounts,
      label,
      restoreToTime,
      restoreToIncrLabel: flags.restoreToIncrLabel,
      restoreToRedoSeq,
      fullOnly,
      backedUpRedoOnly: !!(flags.br || flags.backedupRedologsOnly),
      createAccount: createAccount ? { prefix: prefix! } : undefined,
      restoreAccount,
      systemData,
      continueOnError: !!flags.continueOnError,
      skipDeletedAccounts: !!flags.skipDeletedAccounts,
      skipDeletes: !!flags.skipDeletes,
      ignoreRedoErrors: !!flags.ignoreRedoErrors,
      excludeBlobs: !!flags.excludeBlobs,
      excludeSearchIndex: !!flags.excludeSearchIndex,
      threads: positiveInteger('--threads', flags.threads, 1),
    },
  };
}

/** MAILVAULT_FAILPOINT=restore-step:<step>[:n] kills the restore (SIGKILL) at the nth <step>: maintenance, rows, files, replay, reactivated. */
function restoreFailpoint(): ((step: string) => Promise<void>) | undefined {
  const [kind, name, nth] = (process.env.MAILVAULT_FAILPOINT ?? '').split(':');
  if (kind !== 'restore-step' || !name) return undefined;
  const n = nth === undefined ? 1 : Number(nth);
  let seen = 0;
  return async (step) => {
    if (step === name && ++seen === n) process.kill(process.pid, 'SIGKILL');
  };
}

function print(flags: RestoreFlags, result: RestoreResult): void {
  if (flags.json) {
    console.log(JSON.stringify(result));
    return;
  }
  for (const email of result.recoveredFromEarlierRun)
    console.log(`${email}: put back from the maintenance an earlier run left it in`);
  if (result.system)
    console.log(
      `System tables and local config are restored (${result.system.tables.length} tables from ${result.system.label}; localconfig written as ${result.system.localconfig}). Make sure current volumes are correct using zmvolume.`,
    );
  for (const a of result.accounts) {
    const as = a.restoredAs ? ` as ${a.restoredAs.email}` : '';
    if (a.status === 'restored')
      console.log(
        `${a.email}${as}: restored from ${a.label} (mailbox ${a.mailboxId ?? 'none'}, ${a.rows ?? 0} rows, ${a.blobs ?? 0} blobs)`,
      );
    else console.log(`${a.email}: ${a.status}${a.error ? `: ${a.error}` : ''}`);
  }
  const r = result.replay;
  if (r)
    console.log(
      `redo: ${r.files.length} log(s), ${r.applied} op(s) applied, ${r.alreadyPresent} already present, ${r.outOfRange} after the point in time, ${r.uncommitted} never committed, ${r.orphanCommits} orphan commit(s)${
        Object.keys(r.unknownOps).length
          ? `, not replayed: ${Object.entries(r.unknownOps)
              .map(([k, v]) => `${k} ×${v}`)
              .join(', ')}`
          : ''
      }`,
    );
  for (const x of result.reindex)
    console.log(`${x.email}: index ${x.requested ? 'reindex requested' : 'needs a reindex'}: ${x.note}`);
  for (const w of result.warnings) console.error(`warning: ${w}`);
  console.log(
    `status: ${result.status}${result.notRestored.length ? `; not restored: ${result.notRestored.join(', ')}` : ''}`,
  );
  if (result.replay || result.accounts.some((a) => a.status === 'restored'))
    console.log('Run a full backup of the restored accounts now.');
}

export function restoreCommand(): Command {
  const command = new Command('zmrestore')
    .description('Restore accounts from a full backup, replaying redo to a point in time (zmrestore flags)')
    .option('-a, --account <accounts...>', 'all, or the accounts to restore')
    .option('--lb <label>', 'full backup to start from (-lb)')
    .option('--label <label>', 'same as -lb')
    .option('--restoreToTime <datetime>', 'replay redo until this time (-restoreToTime)')
    .option('--restoreToIncrLabel <label>', 'replay up to and including that incremental')
    .option('--restoreToRedoSeq <seq>', 'replay up to and including that redo log sequence')
    .option('--rf', 'restore the full backup only, no redo replay (-rf)')
    .option('--restoreFullBackupOnly', 'same as -rf')
    .option('--br', "replay only redo logs in the backup target, not the server's (-br)")
    .option('--backedupRedologsOnly', 'same as -br')
    .option('--ca', 'restore into a new account <prefix><name> (-ca, needs -pre)')
    .option('--createAccount', 'same as -ca')
    .option('--pre <prefix>', 'prefix of the new account (-pre)')
    .option('--prefix <prefix>', 'same as -pre')
    .option('--ra', "also restore the account's LDAP entry (-ra)")
    .option('--restoreAccount', 'same as -ra')
    .option('--sys', 'restore system tables; localconfig as localconfig.xml.restored (-sys)')
    .option('--systemData', 'same as -sys')
    .option('-c, --continueOnError', 'go on with the other accounts after an error')
    .option('--skipDeletedAccounts', 'skip named accounts no full backup holds')
    .option('--skipDeletes', 'do not replay delete ops')
    .option('--ignoreRedoErrors', 'go on past redo errors and missing redo logs')
    .option('--excludeBlobs', 'do not restore blobs')
    .option('--excludeSearchIndex', 'do not restore the search index')
    .option('--threads <n>', 'mailboxes replayed in parallel (default 8)')
    .option('-t, --target <dir>', 'backup target directory')
    .option('--json', 'print the result as JSON');
  addServerOptions(command);
  return command.action(async (flags: RestoreFlags) => {
    const { profile, options } = validate(flags);
    // A connection per replay player (each holds one for its transaction), and one for the rest.
    const server = await openServer(profile, { dbConnections: (options.threads ?? 8) + 1 });
    try {
      const result = await runRestore(server, {
        ...options,
        failpoint: restoreFailpoint(),
        onProgress: flags.json ? undefined : (line) => console.error(line),
      });
      print(flags, result);
      process.exitCode = result.status === 'ok' ? 0 : 1;
    } catch (error) {
      if (error instanceof RestorePlanError) throw new UsageError(error.message);
      if (error instanceof TargetLockedError) throw new Error(`nothing restored: ${error.message}`);
      throw error;
    } finally {
      await server.close();
    }
  });
}
