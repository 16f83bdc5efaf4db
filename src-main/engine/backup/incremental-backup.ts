import type { Client } from 'ldapts';
import { readEntry, serverZimbraId, type DirectoryAccount } from '../ldap/directory';
import { entryToLdif } from '../ldap/ldif';
import type { ServerAccess } from '../server/server-access';
import { forEachLimited } from '../target/durable-fs';
import { acquireLock } from '../target/lock';
import type { Manifest, ManifestError, RedoLogRecord } from '../target/manifest';
import { completeSessions } from '../target/session-list';
import { SessionWriter } from '../target/session-writer';
import { explainFailure, selectAccounts } from './full-backup';
import { recoverMaintenance } from './maintenance';
import {
  cleanRedoTemps,
  deleteOnRolloverWarning,
  planRedoCopy,
  pruneServerLogs,
  type PruneResult,
} from './redo-archive';
import { copyLogsToTarget } from './redo-copy';
import { backupDirectory, backupSystem } from './system-backup';

/** LDAP searches for account entries at once (slapd answers them in parallel). */
const ENTRIES_IN_FLIGHT = 8;

export interface IncrementalBackupOptions {
  target: string;
  accounts: 'all' | string[];
  engineVersion: string;
  onLabel?: (label: string) => void;
  onWarning?: (message: string) => void;
  /** Called between steps (tests kill the process here); `step` names where it is. */
  checkpoint?: (step: string) => Promise<void>;
  now?: () => number;
}

export interface IncrementalResult {
  manifest: Manifest;
  /** Server logs deleted (old enough, verified copy) or kept after the commit. */
  pruned: PruneResult;
  /** Selected accounts no full backup in this target holds: they need one now (SPEC §1). */
  needFull: DirectoryAccount[];
}

/**
 * SPEC §1, incremental: system data, every account's LDAP entry, the archived redo logs since
 * the last backup into `<target>/redologs/`, the directory. Committed as one session; only then
 * are server logs deleted (those old enough whose copy checks out).
 */
export async function runIncrementalBackup(
  server: ServerAccess,
  options: IncrementalBackupOptions,
): Promise<IncrementalResult> {
  const { hostname } = server.settings;
  const checkpoint = options.checkpoint ?? (async () => undefined);
  const lock = await acquireLock(options.target, { operation: 'incremental backup' });
  const ldap = await server.ldap();
  let session: SessionWriter | undefined;
  try {
    await recoverMaintenance(options.target, hostname, ldap);
    await cleanRedoTemps(options.target);
    session = await SessionWriter.create(options.target, { type: 'incremental', lock, now: options.now });
    options.onLabel?.(session.label);
    const warning = await deleteOnRolloverWarning(ldap, hostname);
    if (warning) options.onWarning?.(warning);
    const serverId = await serverZimbraId(ldap, hostname);
    // Read once for the run: the lock keeps other runs from committing meanwhile, and every
    // manifest read again (twice more) grew with the target's history.
    const sessions = await completeSessions(options.target);
    const plan = await planRedoCopy(server, sessions);
    // The logs are copied while system data, account entries and the directory are read: those
    // wait on MariaDB and slapd, the copy on the disk. The session is committed after both.
    const copying = copyLogsToTarget(server, options.target, plan.copy, checkpoint);
    copying.catch(() => undefined); // awaited below; failing meanwhile must not end the process
    let found: DirectoryAccount[];
    const errors: ManifestError[] = [];
    try {
      found = await backupAccountData(server, ldap, session, options.accounts, errors, checkpoint);
    } catch (error) {
      await copying.catch(() => undefined); // nothing of this run may still write once it has failed
      throw error;
    }
    errors.push(...plan.problems);
    const { copied, stopped } = await copying;
    const logs: RedoLogRecord[] = copied.map((c) => c.record);
    for (const problem of copied.flatMap((c) => c.problems)) errors.push({ message: `redo log ${problem}` });
    if (stopped) errors.push({ message: `${stopped.message}; later logs wait for the next run` });

    const times = logs.flatMap((l) => [l.firstOpMs, l.lastOpMs]).filter((t): t is number => t !== null);
    const manifest = await session.commit({
      server: { hostname, zimbraId: serverId },
      engineVersion: options.engineVersion,
      redo: {
        seq: logs.length > 0 ? { min: logs[0]!.seq, max: logs.at(-1)!.seq } : null,
        timeMs: times.length > 0 ? { min: Math.min(...times), max: Math.max(...times) } : null,
      },
      options: { zip: 'store', blobs: false, index: false },
      accounts: found.map((a) => ({
        zimbraId: a.zimbraId,
        email: a.email,
        mailboxId: null,
        status: 'COMPLETED' as const,
        maintenance: null,
      })),
      errors,
      redoLogs: logs,
      ...(warning ? { warnings: [warning] } : {}),
      status: errors.length > 0 ? 'completed with errors' : 'completed',
    });
    await checkpoint('committed');
    const committed = [...sessions, { manifest }];
    const pruned = await pruneServerLogs(server, options.target, committed, options.now?.());
    return { manifest, pruned, needFull: accountsWithoutFull(committed, hostname, found) };
  } catch (error) {
    const explained =
      error instanceof Error && (error as { fatal?: boolean }).fatal
        ? error
        : await explainFailure(server, error);
    await session?.discard(explained.message).catch(() => undefined);
    throw explained;
  } finally {
    await ldap.unbind().catch(() => undefined);
    await lock.release().catch(() => undefined);
  }
}

/**
 * System data, each selected account's LDAP entry and the whole directory into the session;
 * accounts that are not (or no longer) on the server go to `errors`. Returns the accounts found.
 */
async function backupAccountData(
  server: ServerAccess,
  ldap: Client,
  session: SessionWriter,
  accounts: 'all' | string[],
  errors: ManifestError[],
  checkpoint: (step: string) => Promise<void>,
): Promise<DirectoryAccount[]> {
  const { hostname } = server.settings;
  await backupSystem(server, session);
  await checkpoint('system');
  const { found, missing } = await selectAccounts(ldap, hostname, accounts);
  for (const email of missing) errors.push({ email, message: `${email} is not an account on ${hostname}` });
  // Several searches in flight on the one connection: a round trip per account, one after
  // another, was most of this step's time. Errors keep the accounts' order.
  const gone: boolean[] = new Array<boolean>(found.length).fill(false);
  await forEachLimited([...found.keys()], ENTRIES_IN_FLIGHT, async (i) => {
    const account = found[i]!;
    const entry = await readEntry(ldap, account.dn);
    if (entry) await session.writeAccountLdif(account.zimbraId, entryToLdif(entry));
    else gone[i] = true;
  });
  for (const [i, account] of found.entries())
    if (gone[i])
      errors.push({ zimbraId: account.zimbraId, email: account.email, message: `${account.dn} is gone` });
  await checkpoint('accounts');
  await backupDirectory(ldap, session);
  await checkpoint('directory');
  return found;
}

/** The accounts no committed full session of this server in the target holds completed. */
function accountsWithoutFull(
  sessions: ReadonlyArray<{ manifest: Manifest }>,
  hostname: string,
  accounts: DirectoryAccount[],
): DirectoryAccount[] {
  const covered = new Set<string>();
  for (const { manifest } of sessions)
    if (manifest.type === 'full' && manifest.server.hostname === hostname)
      for (const a of manifest.accounts) if (a.status === 'COMPLETED') covered.add(a.zimbraId.toLowerCase());
  return accounts.filter((a) => !covered.has(a.zimbraId.toLowerCase()));
}
