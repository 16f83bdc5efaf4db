import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { CatalogPart } from '../engine/catalog/catalog';
import { loadCatalog, saveCatalog, type CatalogLoad } from '../engine/catalog/catalog-load';
import { resolveAccount, UnknownAccountError, type AccountRef } from '../engine/plan/account-ref';
import { queryAccount, type AccountQueryResult, type RestorePoint } from '../engine/query/account-query';
import { tmpSessions } from '../engine/query/live-sessions';
import { querySessions, type QueriedSession } from '../engine/query/session-query';
import { formatBytes, formatRestoreTime, formatZimbraDate } from '../engine/query/time-format';
import { isLabel } from '../engine/target/labels';
import { isZimbraId } from '../engine/target/layout';
import { parseZimbraTime, TimeArgumentError } from '../engine/target/zimbra-time';
import { DEFAULT_LAB_DIR } from '../lab/sandbox';
import { addServerOptions, checkPathArgument, parseServer, type ServerFlags } from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault zmbackupquery`: Zimbra's flags (zimbra-facts §1.3), answered from the target alone
 * through its catalog. With -a, the sessions holding the account and the best point in time to
 * restore it, including the instants just before destructive bursts in its redo ops.
 */
interface QueryFlags extends ServerFlags {
  lb?: string;
  type?: string;
  from?: string;
  to?: string;
  account?: string;
  verbose?: boolean;
  json?: boolean;
  target?: string;
  burstItems?: string;
  burstGap?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** -t, or the default target of the server named by -s (local: <zimbra_home>/backup; lab). */
export function targetOf(flags: ServerFlags & { target?: string }): string {
  let target = flags.target;
  if (target === undefined) {
    const profile = parseServer(flags);
    if (/^lab(:\d+)?$/.test(flags.server)) target = path.join(DEFAULT_LAB_DIR, 'backup');
    else if (profile.kind === 'local') target = `${profile.zimbraHome}/backup`;
    else
      throw new UsageError('-t: give the backup target directory (there is no default for a remote server)');
  }
  checkPathArgument('-t', target);
  if (!fs.existsSync(path.join(target, 'sessions')) && !fs.existsSync(path.join(target, 'tmp')))
    throw new UsageError(`-t ${target}: not a backup target (no sessions/)`);
  return target;
}

export function timeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseZimbraTime(value);
  } catch (error) {
    if (error instanceof TimeArgumentError) throw new UsageError(`${flag} ${error.message}`);
    throw error;
  }
}

export function accountOption(value: string): string {
  if (!EMAIL.test(value) && !isZimbraId(value))
    throw new UsageError(`-a ${value}: not an account address (user@domain) or zimbraId`);
  return value;
}

export function findAccount(load: CatalogLoad, value: string): AccountRef {
  try {
    return resolveAccount(load.catalog, value);
  } catch (error) {
    if (error instanceof UnknownAccountError) throw new UsageError(error.message);
    throw error;
  }
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`${flag} ${value}: not a positive whole number`);
  return n;
}

const redoRange = (r: [number, number] | null) => (r ? `${r[0]} .. ${r[1]}` : '? .. ?');

function printSession(s: QueriedSession): void {
  console.log(`Label:   ${s.label}`);
  console.log(`Type:    ${s.type}`);
  console.log(`Status:  ${s.status}`);
  if (s.reason) console.log(`  (${s.reason})`);
  console.log(`Started: ${formatZimbraDate(s.startMs)}`);
  if (s.endMs !== null) console.log(`Ended:   ${formatZimbraDate(s.endMs)}`);
  console.log(`Redo log sequence range: ${redoRange(s.redoSeq)}`);
  if (s.live) console.log(`Currently backing up: ${s.currentAccount ?? '(none)'}`);
  const total = s.accounts.total === null ? '?' : String(s.accounts.total);
  console.log(`Number of accounts: ${s.accounts.completed} out of ${total} completed`);
  console.log(`Number of errors: ${s.accounts.errors + s.errors.filter((e) => !e.email).length}`);
  for (const e of s.errors) console.log(`  error: ${e.email ? `${e.email}: ` : ''}${e.message}`);
  for (const w of s.warnings) console.log(`  warning: ${w}`);
  for (const a of s.accountList ?? [])
    console.log(`  ${a.email}: ${a.status}${a.error ? ` (${a.error})` : ''}`);
  console.log('');
}

/** QueryUtil ends with the target's space, in MB. */
async function printSpace(target: string): Promise<void> {
  try {
    const st = await fs.promises.statfs(target);
    const mb = (blocks: number) => Math.floor((blocks * st.bsize) / 2 ** 20);
    console.log(`Total space: ${mb(st.blocks)} MB`);
    console.log(`Free space: ${mb(st.bavail)} MB`);
  } catch {
    // Not every filesystem answers statfs; the space is a courtesy.
  }
}

function describePoint(p: RestorePoint): string {
  const redo = p.redoSeq ? `redo logs ${p.redoSeq[0]} .. ${p.redoSeq[1]} (${p.redoLogs})` : 'no redo log';
  return `${formatZimbraDate(p.atMs)} from ${p.full} + ${redo}`;
}

function printAccount(r: AccountQueryResult): void {
  console.log(`Account: ${r.account.email} (${r.account.zimbraId})`);
  const window = `${r.window.fromMs === null ? 'the beginning' : formatZimbraDate(r.window.fromMs)} to ${formatZimbraDate(r.window.toMs)}`;
  console.log(`Window:  ${window}`);
  console.log(`Sessions holding it: ${r.sessions.length}`);
  for (const s of r.sessions)
    console.log(
      `  ${s.label}  ${s.type.padEnd(11)} ${s.status}; account ${s.accountStatus}${s.type === 'full' ? `, ${formatBytes(s.bytes)}` : ''}${s.error ? ` (${s.error})` : ''}`,
    );
  const best = r.bestPointInTime;
  if (!best)
    console.log("Best point in time: none (no completed full backup of it at or before the window's end)");
  else {
    console.log(`Best point in time: ${describePoint(best)}`);
    if (!best.complete) console.log(`  (the window's end cannot be reached: ${best.missing})`);
    console.log(`  restore with: -lb ${best.full} -restoreToTime ${formatRestoreTime(best.atMs)}`);
  }
  if (r.bursts.length === 0) console.log('Destructive bursts in the window: none');
  else {
    console.log(`Destructive bursts in the window: ${r.bursts.length}`);
    for (const b of r.bursts) {
      console.log(`  ${formatZimbraDate(b.startMs)}: ${b.summary}`);
      if (!b.restore)
        console.log('    just before it: not restorable from this target (no full backup before it)');
      else if (!b.restore.complete) console.log(`    just before it: not reachable (${b.restore.missing})`);
      else
        console.log(
          `    just before it: ${formatRestoreTime(b.restore.atMs)} (-lb ${b.restore.full} -restoreToTime ${formatRestoreTime(b.restore.atMs)})`,
        );
    }
  }
  for (const n of r.notes) console.log(`note: ${n}`);
}

export function queryCommand(): Command {
  const command = new Command('zmbackupquery')
    .description(
      'list backup sessions, or the sessions holding an account and the best point in time to restore it',
    )
    .option('--lb <label>', 'one session (Zimbra: -lb)')
    .option('--type <type>', 'full or incremental')
    .option('--from <time>', 'sessions started at or after this local time (e.g. 2021/07/12 15:59:51)')
    .option('--to <time>', 'sessions started at or before this local time')
    .option('-a, --account <account>', 'an account (address or zimbraId): its sessions and restore points')
    .option('-v, --verbose', 'list every account of each session with its status')
    .option('--burst-items <n>', 'with -a: items deleted or trashed that make a burst (default 10)')
    .option('--burst-gap <seconds>', 'with -a: destructive ops this close form one burst (default 60)')
    .option('-t, --target <dir>', "backup target directory (default: the server's <zimbra_home>/backup)")
    .option('--json', 'print JSON');
  addServerOptions(command);
  return command.action(async (flags: QueryFlags) => {
    if (flags.lb !== undefined && !isLabel(flags.lb))
      throw new UsageError(`-lb ${flags.lb}: not a session label (full-YYYYMMDD.HHMMSS.mmm)`);
    if (flags.type !== undefined && flags.type !== 'full' && flags.type !== 'incremental')
      throw new UsageError(`--type ${flags.type}: full or incremental`);
    const fromMs = timeOption('--from', flags.from);
    const toMs = timeOption('--to', flags.to);
    if (fromMs !== undefined && toMs !== undefined && fromMs > toMs)
      throw new UsageError(`--from ${flags.from} is after --to ${flags.to}`);
    const account = flags.account === undefined ? undefined : accountOption(flags.account);
    const minItems = positive('--burst-items', flags.burstItems);
    const gap = positive('--burst-gap', flags.burstGap);
    const target = targetOf(flags);
    let ref: AccountRef | undefined;
    const parts: CatalogPart[] = account !== undefined ? ['holders'] : flags.verbose ? ['columns'] : [];
    const load = await openCatalog(target, parts, (l) => {
      if (account !== undefined) ref = findAccount(l, account);
    });

    if (ref) {
      const result = await queryAccount(target, load.catalog, ref, {
        fromMs,
        toMs: toMs ?? Date.now(),
        type: flags.type as 'full' | 'incremental' | undefined,
        label: flags.lb,
        bursts: { minItems, gapMs: gap === undefined ? undefined : gap * 1000 },
      });
      if (flags.json) console.log(JSON.stringify({ ...result, catalog: catalogInfo(load) }));
      else printAccount(result);
      return;
    }
    const sessions = querySessions(load.catalog, await tmpSessions(target), {
      label: flags.lb,
      type: flags.type as 'full' | 'incremental' | undefined,
      fromMs,
      toMs,
      verbose: flags.verbose,
    });
    if (flags.lb !== undefined && sessions.length === 0)
      throw new Error(`no session ${flags.lb} in ${target}`);
    if (flags.json) console.log(JSON.stringify({ sessions, catalog: catalogInfo(load) }));
    else if (sessions.length === 0) console.log('No sessions match.');
    else {
      for (const s of sessions) printSession(s);
      await printSpace(target);
    }
  });
}

/**
 * The catalog, written back only once the input is known good: bad input changes nothing on the
 * target, not even the catalog.
 */
export async function openCatalog(
  target: string,
  parts: CatalogPart[],
  check: (load: CatalogLoad) => void = () => undefined,
) {
  const load = await loadCatalog(target, { readOnly: true, parts });
  check(load);
  if (load.state !== 'fresh') load.written = await saveCatalog(target, load.catalog);
  return load;
}

export function catalogInfo(load: CatalogLoad): object {
  return { state: load.state, reason: load.reason, manifestsRead: load.manifestsRead };
}
