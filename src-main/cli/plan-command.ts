import { Command } from 'commander';
import type { AccountRef } from '../engine/plan/account-ref';
import { NoFullBackupError, planRestore, type RestorePlan } from '../engine/plan/restore-plan';
import { formatBytes, formatRestoreTime, formatZimbraDate } from '../engine/query/time-format';
import { accountOption, catalogInfo, findAccount, openCatalog, targetOf, timeOption } from './query-command';
import { addServerOptions, type ServerFlags } from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault plan -a <account> --to <time>`: offline restore planning from the target alone (a
 * copied target with no server works the same). Exit 0 when the target reaches that time, 1 when
 * it cannot (the plan then says the latest instant it can reach), 2 on bad input.
 */
interface PlanFlags extends ServerFlags {
  account?: string;
  to?: string;
  target?: string;
  json?: boolean;
}

function print(plan: RestorePlan): void {
  console.log(`Restore ${plan.account.email} (${plan.account.zimbraId}) to ${formatZimbraDate(plan.toMs)}`);
  console.log(
    `  from full ${plan.full.label} (${plan.full.status}; snapshot ${formatZimbraDate(plan.full.snapshotMs)}), ${formatBytes(plan.full.bytes)}`,
  );
  if (plan.redoLogs.length === 0) console.log('  redo logs: none');
  else {
    console.log(
      `  redo logs: ${plan.redoLogs.length}, sequences ${plan.redoLogs[0]!.seq} .. ${plan.redoLogs.at(-1)!.seq}`,
    );
    for (const l of plan.redoLogs)
      console.log(`    redologs/${l.name}  ${formatBytes(l.bytes)}  (from ${l.session})`);
  }
  if (plan.reachable) console.log('  reaches that time: yes');
  else {
    console.log(`  reaches that time: NO — ${plan.missing}`);
    console.log(
      `  latest reachable instant: ${formatZimbraDate(plan.restoresToMs)} (--to ${formatRestoreTime(plan.restoresToMs)}); what follows is for that instant`,
    );
  }
  console.log(`  bytes to read: ${formatBytes(plan.bytesToRead)} (${plan.bytesToRead} bytes)`);
  const kinds = Object.entries(plan.replay.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(`  ops replayed: ${plan.replay.total}${kinds ? ` (${kinds})` : ''}`);
  if (!plan.folders || !plan.messages)
    console.log('  folders: unknown (no mailbox.sql for the account in the full)');
  else {
    console.log(
      `  messages: ${plan.messages.atFull} at the full, ${plan.messages.atTarget} after the replay`,
    );
    const width = Math.max(6, ...plan.folders.map((f) => f.path.length));
    console.log(`  ${'folder'.padEnd(width)}  at full  restored`);
    for (const f of plan.folders)
      console.log(
        `  ${f.path.padEnd(width)}  ${String(f.atFull ?? '-').padStart(7)}  ${String(f.atTarget ?? '(gone)').padStart(8)}`,
      );
  }
  for (const p of plan.problems) console.log(`  problem: ${p}`);
}

export function planCommand(): Command {
  const command = new Command('plan')
    .description(
      'plan restoring an account to a point in time from the backup target alone (no server is touched)',
    )
    .option('-a, --account <account>', 'the account (address or zimbraId)')
    .option('--to <time>', 'local time to restore to (e.g. 2021/07/12 15:59:51 or 20210712.155951.123)')
    .option('-t, --target <dir>', "backup target directory (default: the server's <zimbra_home>/backup)")
    .option('--json', 'print JSON');
  addServerOptions(command);
  return command.action(async (flags: PlanFlags) => {
    if (flags.account === undefined) throw new UsageError('-a: give the account to plan for');
    if (flags.to === undefined) throw new UsageError('--to: give the time to restore to');
    const account = accountOption(flags.account);
    const toMs = timeOption('--to', flags.to)!;
    const target = targetOf(flags);
    let ref!: AccountRef;
    const load = await openCatalog(target, ['holders'], (l) => (ref = findAccount(l, account)));
    let plan: RestorePlan;
    try {
      plan = await planRestore(target, load.catalog, ref, toMs);
    } catch (error) {
      if (error instanceof NoFullBackupError) throw new Error(error.message);
      throw error;
    }
    if (flags.json) console.log(JSON.stringify({ ...plan, catalog: catalogInfo(load) }));
    else print(plan);
    process.exitCode = plan.reachable ? 0 : 1;
  });
}
