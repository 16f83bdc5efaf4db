import path from 'node:path';
import { Command } from 'commander';
import { failover, FailoverError, type FailoverReport } from '../engine/standby/failover';
import {
  lastCompleteSnapshot,
  newestCompleteSet,
  snapshotSets,
  STANDBY_VOLUMES,
  volumeLag,
  type StandbyVolume,
} from '../engine/standby/record';
import { dueVolumes, parseIntervals } from '../engine/standby/schedule';
import { takeSnapshot } from '../engine/standby/snapshot';
import { StandbyBusyError, StandbyDir } from '../engine/standby/standby-dir';
import type { ServerAccess } from '../engine/server/server-access';
import { positiveInteger, timeArgument } from './restore-command';
import {
  addServerOptions,
  checkPathArgument,
  openServer,
  parseServer,
  type ServerFlags,
} from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault standby` (the seed 004 made real; docs/standby.md):
 *   snapshot  -s <primary> --standby <standby> --volume mysql|blobs|index|redolog, or --due (cron)
 *   status    -s <standby>: the sets, each volume's last snapshot and its lag
 *   failover  -s <standby> [--at T] [--failed-at T]: load the newest complete set, replay from T
 * The standby's directory is <its zimbra_home>/standby unless --standby-dir says otherwise.
 */
interface CommonFlags extends ServerFlags {
  standbyDir?: string;
  json?: boolean;
}

interface SnapshotFlags extends CommonFlags {
  standby?: string;
  standbyIdentity?: string;
  standbyHostKey?: string;
  standbyZimbraHome?: string;
  volume?: string;
  due?: boolean;
  intervals?: string;
  method?: string;
  keepSets?: string;
}

interface FailoverFlags extends CommonFlags {
  at?: string;
  failedAt?: string;
  replay?: boolean;
  reindex?: boolean;
  threads?: string;
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
const duration = (ms: number | null) =>
  ms === null
    ? '-'
    : ms < 120_000
      ? `${Math.round(ms / 1000)} s`
      : ms < 7_200_000
        ? `${Math.round(ms / 60_000)} min`
        : `${(ms / 3_600_000).toFixed(1)} h`;

function standbyDirFlag(flags: CommonFlags, server: ServerAccess): string {
  if (flags.standbyDir !== undefined) return checkPathArgument('--standby-dir', flags.standbyDir);
  return path.posix.join(server.zimbraHome, 'standby');
}

/** Commander errors of a nested command are one `mailvault:` line with exit 2, as at the top. */
function oneLineErrors(command: Command): Command {
  return command.exitOverride().configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(`mailvault: ${s.replace(/^error: /, '')}`),
  });
}

function snapshotCommand(): Command {
  const command = new Command('snapshot')
    .description('Snapshot one volume of the primary (-s) to the standby (--standby), or those due')
    .option('--volume <volume>', `one of ${STANDBY_VOLUMES.join(', ')}`)
    .option('--due', 'every volume whose interval has passed (run from cron every minute)')
    .option('--intervals <list>', 'with --due: e.g. mysql=1h,blobs=1h,index=1h,redolog=15m (the defaults)')
    .requiredOption('--standby <server>', 'the standby: local, ssh://user@host[:port] or lab[:N]')
    .option('--standby-identity <file>', 'SSH private key for the standby')
    .option('--standby-host-key <fingerprint>', "pin the standby's SSH host key")
    .option('--standby-zimbra-home <dir>', 'where Zimbra is installed on the standby (default /opt/zimbra)')
    .option('--standby-dir <dir>', "the standby's snapshot directory (default <its zimbra_home>/standby)")
    .option(
      '--method <method>',
      'blobs and index: auto (a btrfs/LVM/ZFS snapshot where the storage has one; default) or copy',
    )
    .option(
      '--keep-sets <n>',
      'snapshot sets kept on the standby: dumps, redo logs and trees older than them go (default 3)',
    )
    .option('--json', 'print the snapshots taken as JSON');
  addServerOptions(command);
  return command.action(async (flags: SnapshotFlags) => {
    if (!flags.volume && !flags.due)
      throw new UsageError('standby snapshot: give --volume <volume> or --due');
    if (flags.volume && flags.due)
      throw new UsageError('standby snapshot: --volume and --due do not go together');
    if (flags.volume && !(STANDBY_VOLUMES as readonly string[]).includes(flags.volume))
      throw new UsageError(`--volume ${flags.volume}: not one of ${STANDBY_VOLUMES.join(', ')}`);
    let intervals;
    try {
      intervals = parseIntervals(flags.intervals);
    } catch (error) {
      throw new UsageError(`--intervals ${(error as Error).message}`);
    }
    if (flags.method !== undefined && flags.method !== 'auto' && flags.method !== 'copy')
      throw new UsageError(`--method ${flags.method}: not auto or copy`);
    const keepSets = positiveInteger('--keep-sets', flags.keepSets, 1);
    if (flags.standbyDir !== undefined) checkPathArgument('--standby-dir', flags.standbyDir);
    const primaryProfile = parseServer(flags);
    const standbyProfile = parseServer({
      server: flags.standby!,
      identity: flags.standbyIdentity,
      hostKey: flags.standbyHostKey,
      zimbraHome: flags.standbyZimbraHome,
    });
    const primary = await openServer(primaryProfile);
    try {
      const standby = await openServer(standbyProfile);
      try {
        const dir = new StandbyDir(standby.transport, standbyDirFlag(flags, standby));
        const volumes: StandbyVolume[] = flags.volume
          ? [flags.volume as StandbyVolume]
          : dueVolumes(await dir.readRecords(), intervals, Date.now());
        const taken = [];
        for (const volume of volumes) {
          try {
            taken.push(
              await takeSnapshot(primary, dir, volume, {
                method: flags.method as 'auto' | 'copy' | undefined,
                keepDumps: keepSets,
              }),
            );
          } catch (error) {
            // Another snapshot of this volume is running (a slow one overlapping cron): not a failure of this run.
            if (error instanceof StandbyBusyError && flags.due) continue;
            throw error;
          }
          if (!flags.json) {
            const e = taken[taken.length - 1]!;
            console.log(
              `${e.id}: ${e.volume} as of ${iso(e.takenAt)}${e.method ? ` (${e.method})` : ''}, ${e.files} file(s), ${e.bytes} byte(s) sent${e.removed ? `, ${e.removed} removed` : ''}${e.resumedBytes ? `, ${e.resumedBytes} byte(s) resumed` : ''}`,
            );
          }
        }
        if (flags.json) console.log(JSON.stringify({ snapshots: taken }));
        else if (taken.length === 0) console.log('no volume is due');
      } finally {
        await standby.close();
      }
    } finally {
      await primary.close();
    }
  });
}

function statusCommand(): Command {
  const command = new Command('status')
    .description("The standby's (-s) snapshot sets, each volume's last snapshot and its lag")
    .option('--standby-dir <dir>', "the standby's snapshot directory (default <its zimbra_home>/standby)")
    .option('--json', 'print the status as JSON');
  addServerOptions(command);
  return command.action(async (flags: CommonFlags) => {
    if (flags.standbyDir !== undefined) checkPathArgument('--standby-dir', flags.standbyDir);
    const standby = await openServer(parseServer(flags));
    try {
      const dir = new StandbyDir(standby.transport, standbyDirFlag(flags, standby));
      const records = await dir.readRecords();
      const now = Date.now();
      const sets = snapshotSets(records);
      const newest = newestCompleteSet(sets);
      const volumes = volumeLag(records, now);
      const primary = Object.values(records)[0]?.primary ?? null;
      const status = {
        primary,
        now,
        volumes,
        sets: sets.map((s) => ({
          fromTime: s.fromTime,
          complete: s.complete,
          mysql: s.mysql.takenAt,
          blobs: s.blobs?.takenAt ?? null,
          index: s.index?.takenAt ?? null,
          redolog: s.redolog?.takenAt ?? null,
        })),
        failoverFrom: newest?.fromTime ?? null,
        // How each volume's newest complete snapshot was taken: dump, btrfs, lvm, zfs, copy, cut.
        methods: Object.fromEntries(
          STANDBY_VOLUMES.map((v) => [v, lastCompleteSnapshot(records[v])?.method ?? null]),
        ),
        redoLogs: records.redolog?.logs?.length ?? 0,
        // The newest snapshot of each volume when it did not finish: what the next run resumes.
        incomplete: Object.values(records).flatMap((r) => {
          const last = r.snapshots[r.snapshots.length - 1];
          return last && !last.complete ? [{ id: last.id, error: last.error ?? 'in progress' }] : [];
        }),
      };
      if (flags.json) {
        console.log(JSON.stringify(status));
        return;
      }
      console.log(`standby ${dir.root} of ${primary?.hostname ?? '(no snapshot yet)'}`);
      for (const v of STANDBY_VOLUMES)
        console.log(
          `  ${v.padEnd(8)} last ${iso(volumes[v].takenAt)}${status.methods[v] ? ` (${status.methods[v]})` : ''}  lag ${duration(volumes[v].lagMs)}${volumes[v].incomplete ? `  (${volumes[v].incomplete} incomplete)` : ''}`,
        );
      for (const s of status.sets.slice(-5))
        console.log(
          `  set ${iso(s.fromTime)}: mysql ${iso(s.mysql)}, blobs ${iso(s.blobs)}, index ${iso(s.index)}, redolog ${iso(s.redolog)} ${s.complete ? 'complete' : 'incomplete'}`,
        );
      console.log(
        newest
          ? `  failover would replay from ${iso(newest.fromTime)} (zmplayredo --fromTime)`
          : '  no complete set: failover is not possible yet',
      );
      for (const e of status.incomplete) console.log(`  ${e.id}: ${e.error}`);
    } finally {
      await standby.close();
    }
  });
}

function printFailover(r: FailoverReport): void {
  console.log(
    `set of ${iso(r.set.fromTime)} loaded (${r.set.mysql}, ${r.set.blobs}, ${r.set.index}, ${r.set.redolog}); ${r.loaded.redoLogs} redo log(s) in place`,
  );
  if (r.replay) {
    console.log(
      `replayed from ${iso(r.replayFrom)}${r.openAtSnapshot ? ` (${r.openAtSnapshot} transaction(s) open at the mysql snapshot)` : ''}: ${r.replay.committed} committed op(s), ${r.replay.applied} applied, ${r.replay.alreadyPresent} already present, ${r.replay.errors.length} error(s)`,
    );
    for (const m of r.mailboxes)
      console.log(
        `  mailbox ${m.mailboxId} ${m.email}: ${m.replayed} replayed, ${m.alreadyPresent} already present${m.errors ? `, ${m.errors} error(s)` : ''}${m.reindex ? `; index: ${m.reindex}` : ''}`,
      );
    for (const e of r.replay.errors.slice(0, 20))
      console.log(`  error: mailbox ${e.mailboxId} ${e.op} (change ${e.changeId}): ${e.message}`);
  } else
    console.log(`not replayed: run mailvault zmplayredo --fromTime "<${iso(r.replayFrom)} in local time>"`);
  console.log(
    `data lost: ${iso(r.dataLoss.from)} (last redo-log snapshot) → ${iso(r.dataLoss.to)}${r.dataLoss.toIsFailureTime ? ' (failure)' : ' (now; give --failed-at for the failure time)'}`,
  );
}

function failoverCommand(): Command {
  const command = new Command('failover')
    .description('On the standby (-s): load the newest complete set and replay the redo logs from its time')
    .option('--at <datetime>', "replay from this time (default: the set's oldest snapshot; only earlier)")
    .option('--failed-at <datetime>', 'when the primary failed: the end of the data-loss window reported')
    .option('--no-replay', 'load the set only (then run zmplayredo --fromTime yourself)')
    .option('--no-reindex', 'do not ask mailboxd to reindex the mailboxes replayed')
    .option('--threads <n>', 'parallel players (default 8)')
    .option('--standby-dir <dir>', "the standby's snapshot directory (default <its zimbra_home>/standby)")
    .option('--json', 'print the report as JSON');
  addServerOptions(command);
  return command.action(async (flags: FailoverFlags) => {
    const fromTime = timeArgument('--at', flags.at);
    const failedAt = timeArgument('--failed-at', flags.failedAt);
    const threads = positiveInteger('--threads', flags.threads, 1);
    if (flags.standbyDir !== undefined) checkPathArgument('--standby-dir', flags.standbyDir);
    const standby = await openServer(parseServer(flags));
    try {
      const dir = new StandbyDir(standby.transport, standbyDirFlag(flags, standby));
      let report: FailoverReport;
      try {
        report = await failover(standby, dir, {
          fromTime,
          failedAt,
          replay: flags.replay,
          reindex: flags.reindex,
          threads,
        });
      } catch (error) {
        // A time after the set's is bad input (nothing was touched); no complete set is not.
        if (error instanceof FailoverError && error.message.startsWith('--at'))
          throw new UsageError(error.message);
        throw error;
      }
      if (flags.json) console.log(JSON.stringify(report));
      else printFailover(report);
      process.exitCode = report.replay && report.replay.errors.length > 0 ? 1 : 0;
    } finally {
      await standby.close();
    }
  });
}

export function standbyCommand(): Command {
  const standby = new Command('standby').description(
    'Standby site: snapshots of mysql, blobs, index and redo logs, status, failover (docs/standby.md)',
  );
  for (const sub of [snapshotCommand(), statusCommand(), failoverCommand()])
    standby.addCommand(oneLineErrors(sub));
  return oneLineErrors(standby);
}
