import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { RowDataPacket } from 'mysql2/promise';
import { givenRedoLogs, selectLogs, serverRedoLogs } from '../engine/replay/log-files';
import { playRedo, ReplayStoppedError } from '../engine/replay/player';
import {
  acquirePlayRedoLock,
  checkMailboxdStopped,
  PlayRedoRefusedError,
  zimbraLogDirectory,
  type PlayRedoLock,
} from '../engine/replay/playredo-guard';
import { serverReplayBase } from '../engine/replay/server-replay';
import { mailboxGroupDb } from '../engine/server/volumes';
import { positiveInteger, timeArgument } from './restore-command';
import { addServerOptions, openServer, parseServer, type ServerFlags } from './server-option';
import { UsageError } from './usage-error';

/**
 * `mailvault zmplayredo` (zimbra-facts §1.7): replays the server's archived redo logs and its
 * redo.log (or exactly --logfiles, in the order given) onto its database and blob store, over
 * the restore's replay engine: committed ops only, prepared at or after --fromTime, committed at
 * or before --toTime, within --fromSeq..--toSeq, one mailbox (--mailboxId) or all in parallel.
 * Errors are reported and skipped unless --stopOnError. Like Zimbra's wrapper it refuses to run
 * while mailboxd is up, and holds <zimbra_log_directory>/zmplayredo.pid while it runs.
 */
interface PlayFlags extends ServerFlags {
  fromTime?: string;
  toTime?: string;
  fromSeq?: string;
  toSeq?: string;
  mailboxId?: string;
  logfiles?: string[];
  stopOnError?: boolean;
  threads?: string;
  queueCapacity?: string;
  json?: boolean;
}

export function playRedoCommand(): Command {
  const command = new Command('zmplayredo')
    .description('Replay redo logs onto the server (zmplayredo flags)')
    .option('--fromTime <datetime>', 'ops prepared at or after this time')
    .option('--toTime <datetime>', 'ops committed at or before this time')
    .option('--fromSeq <n>', 'first redo log sequence')
    .option('--toSeq <n>', 'last redo log sequence')
    .option('--mailboxId <id>', 'replay this mailbox only')
    .option('--logfiles <files...>', 'replay exactly these files, in this order')
    .option('--stopOnError', 'stop at the first error (default: report and go on)')
    .option('--threads <n>', 'parallel players (default 50)')
    .option('--queueCapacity <n>', 'ops queued per player (default 100)')
    .option('--json', 'print the report as JSON');
  addServerOptions(command);
  return command.action(async (flags: PlayFlags) => {
    const fromTime = timeArgument('--fromTime', flags.fromTime);
    const toTime = timeArgument('--toTime', flags.toTime);
    if (fromTime !== undefined && toTime !== undefined && fromTime > toTime)
      throw new UsageError(`--fromTime ${flags.fromTime} is after --toTime ${flags.toTime}`);
    const fromSeq = positiveInteger('--fromSeq', flags.fromSeq);
    const toSeq = positiveInteger('--toSeq', flags.toSeq);
    if (fromSeq !== undefined && toSeq !== undefined && fromSeq > toSeq)
      throw new UsageError(`--fromSeq ${fromSeq} is after --toSeq ${toSeq}`);
    const mailboxId = positiveInteger('--mailboxId', flags.mailboxId, 1);
    const threads = positiveInteger('--threads', flags.threads, 1) ?? 50;
    const queueCapacity = positiveInteger('--queueCapacity', flags.queueCapacity, 1) ?? 100;
    for (const file of flags.logfiles ?? [])
      if (!fs.existsSync(file)) throw new UsageError(`--logfiles ${file}: no such file`);
    const given = flags.logfiles
      ? await givenRedoLogs(flags.logfiles).catch((e: Error) => {
          throw new UsageError(`--logfiles ${e.message}`);
        })
      : null;
    // A connection per player (each holds one for its transaction), and one for the rest.
    const server = await openServer(parseServer(flags), { dbConnections: threads + 1 });
    let lock: PlayRedoLock | null = null;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-playredo-'));
    try {
      // As Zimbra's wrapper: never into a live mailboxd, never two runs at once.
      const logDir = zimbraLogDirectory(server);
      await checkMailboxdStopped(server, logDir);
      lock = await acquirePlayRedoLock(server, logDir);
      const ldap = await server.ldap();
      try {
        const base = await serverReplayBase(server, ldap);
        let mailboxes;
        if (mailboxId !== undefined) {
          const [rows] = await server.db.query<RowDataPacket[]>(
            'SELECT account_id, comment FROM zimbra.mailbox WHERE id = ?',
            [mailboxId],
          );
          if (!rows[0])
            throw new UsageError(`--mailboxId ${mailboxId}: no such mailbox on ${server.settings.hostname}`);
          mailboxes = new Map([
            [
              mailboxId,
              {
                sourceId: mailboxId,
                mailboxId,
                groupDb: mailboxGroupDb(mailboxId, base.mailboxGroups),
                accountId: String(rows[0].account_id),
                email: String(rows[0].comment ?? ''),
              },
            ],
          ]);
        }
        const logs = given ?? selectLogs(await serverRedoLogs(server, work), { fromSeq, toSeq }).logs;
        const report = await playRedo({
          ...base,
          logs,
          fromTime,
          toTime,
          mailboxes,
          stopOnError: !!flags.stopOnError,
          // --mailboxId forces one player, as Zimbra's does.
          threads: mailboxId !== undefined ? 1 : threads,
          queueCapacity,
        });
        if (flags.json) console.log(JSON.stringify(report));
        else {
          console.log(
            `${report.files.length} log(s), ${report.committed} committed op(s): ${report.applied} applied, ${report.alreadyPresent} already present, ${report.outOfRange} out of range; ${report.uncommitted} never committed, ${report.orphanCommits} orphan commit(s), ${report.aborted} aborted`,
          );
          for (const [name, n] of Object.entries(report.unknownOps))
            console.log(`  not replayed: ${name} ×${n}`);
          for (const d of report.damage)
            console.log(`  damaged: ${d.file} at ${d.offset} (${d.length} bytes): ${d.reason}`);
          for (const e of report.errors)
            console.log(`  error: mailbox ${e.mailboxId} ${e.op} (change ${e.changeId}): ${e.message}`);
        }
        process.exitCode = report.errors.length > 0 ? 1 : 0;
      } finally {
        await ldap.unbind().catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof ReplayStoppedError) throw new Error(`stopped: ${error.message}`);
      if (error instanceof PlayRedoRefusedError) throw new Error(`nothing replayed: ${error.message}`);
      throw error;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
      await lock?.release().catch(() => undefined);
      await server.close();
    }
  });
}
