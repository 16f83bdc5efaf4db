import fs from 'node:fs';
import path from 'node:path';
import {
  createdByDeadRuns,
  JOURNAL_FILE,
  MaintenanceJournal,
  recoverMaintenance,
} from '../backup/maintenance';
import { accountsOnServer } from '../ldap/directory';
import { givenRedoLogs, selectLogs, serverRedoLogs, targetRedoLogs } from '../replay/log-files';
import { playRedo, type ReplayReport } from '../replay/player';
import { serverReplayBase } from '../replay/server-replay';
import type { ServerAccess } from '../server/server-access';
import { acquireLock } from '../target/lock';
import { targetPaths } from '../target/layout';
import type { ServerFiles } from '../replay/server-files';
import type { Volume } from '../server/volumes';
import { restoreDirectorySkeleton } from './directory-restore';
import { STAGING_SUFFIX } from './mailbox-files';
import { requestReindex } from './reindex';
import {
  AccountNotOnServerError,
  mailboxTablesOf,
  restoreAccountFromFull,
  type LoadedAccount,
} from './restore-account';
import { planRestore } from './restore-plan';
import { restoreSystemData, type SystemRestore } from './system-restore';

/**
 * zmrestore (zimbra-facts §1.4) over one server: under the target's lock, after putting back any
 * account a dead run left in maintenance, each account is loaded from its full while in
 * maintenance; then one replay brings every restored mailbox forward to the point in time (all
 * mailboxes in parallel); then each is reactivated. The journal sits in the target's tmp/ so the
 * next engine command restores accounts a killed restore left in maintenance.
 */
export interface RestoreOptions {
  target: string;
  accounts: 'all' | string[];
  label?: string;
  restoreToTime?: number;
  restoreToIncrLabel?: string;
  restoreToRedoSeq?: number;
  fullOnly?: boolean;
  backedUpRedoOnly?: boolean;
  createAccount?: { prefix: string };
  restoreAccount?: boolean;
  systemData?: boolean;
  continueOnError?: boolean;
  skipDeletedAccounts?: boolean;
  skipDeletes?: boolean;
  ignoreRedoErrors?: boolean;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  threads?: number;
  onProgress?: (line: string) => void;
  /** Tests: called at named steps (maintenance, rows, files, replay) to kill the process there. */
  failpoint?: (step: string) => Promise<void>;
}

export interface RestoredAccount {
  email: string;
  zimbraId: string;
  /** The new account (-ca). */
  restoredAs?: { email: string; zimbraId: string };
  label: string | null;
  mailboxId: number | null;
  status: 'restored' | 'skipped' | 'error';
  error?: string;
  rows?: number;
  blobs?: number;
  indexFiles?: number;
  /** Of those files, how many the mailbox had already, the same, and were linked rather than written. */
  filesLinked?: number;
}

export interface RestoreResult {
  status: 'ok' | 'err';
  accounts: RestoredAccount[];
  notRestored: string[];
  redo: {
    fromSeq: number;
    toSeq?: number;
    toTime?: number;
    gaps: Array<{ from: number; to: number }>;
  } | null;
  replay: ReplayReport | null;
  /** Mailboxes whose index needs rebuilding after replay, and whether a reindex was requested. */
  reindex: Array<{ email: string; requested: boolean; note: string }>;
  system: SystemRestore | null;
  recoveredFromEarlierRun: string[];
  /** -ra: directory entries (domains, COS, …) added before the accounts. */
  directoryEntriesAdded: number;
  warnings: string[];
}

export async function runRestore(server: ServerAccess, options: RestoreOptions): Promise<RestoreResult> {
  const hostname = server.settings.hostname;
  const lock = await acquireLock(options.target, { operation: 'restore' });
  const ldap = await server.ldap();
  const journalDir = path.join(targetPaths(options.target).tmp, `restore-${Date.now()}-${process.pid}`);
  const journal = new MaintenanceJournal(path.join(journalDir, JOURNAL_FILE), hostname);
  const result: RestoreResult = {
    status: 'ok',
    accounts: [],
    notRestored: [],
    redo: null,
    replay: null,
    reindex: [],
    system: null,
    recoveredFromEarlierRun: [],
    directoryEntriesAdded: 0,
    warnings: [],
  };
  const progress = options.onProgress ?? (() => undefined);
  try {
    // Copies (-ca) that killed runs created: passed on in this run's journal before theirs go.
    const created = await createdByDeadRuns(options.target, hostname);
    await journal.carry(created);
    result.recoveredFromEarlierRun = (
      await recoverMaintenance(options.target, hostname, ldap, journal.path)
    ).map((e) => e.email);
    const plan = await planRestore(options.target, {
      accounts: options.accounts,
      label: options.label,
      hostname,
      restoreToTime: options.restoreToTime,
      restoreToIncrLabel: options.restoreToIncrLabel,
      restoreToRedoSeq: options.restoreToRedoSeq,
      fullOnly: options.fullOnly,
    });
    const skipMissing = options.skipDeletedAccounts || options.accounts === 'all';
    for (const email of plan.missing) {
      result.accounts.push({
        email,
        zimbraId: '',
        label: null,
        mailboxId: null,
        status: skipMissing ? 'skipped' : 'error',
        error: `no full backup in ${options.target} holds ${email}${options.restoreToTime !== undefined ? ' before that time' : ''}`,
      });
      if (!skipMissing) result.status = 'err';
    }
    if (options.systemData && plan.systemSession) {
      progress(`system data from ${plan.systemSession.label}`);
      result.system = await restoreSystemData(server, options.target, plan.systemSession);
    }
    // Disaster recovery: the directory's domains, COS and the like before the accounts in them.
    if (options.restoreAccount && plan.systemSession) {
      const added = await restoreDirectorySkeleton(ldap, options.target, plan.systemSession);
      if (added.length > 0)
        progress(`directory: ${added.length} entries added from ${plan.systemSession.label}`);
      result.directoryEntriesAdded = added.length;
    }
    const base = await serverReplayBase(server, ldap);
    await removeStagingOfDeadRuns(options.target, hostname, base.files, base.volumes, journalDir);
    await removeDeadRestoreDirs(options.target);
    const directory = await accountsOnServer(ldap, hostname);
    const loaded: LoadedAccount[] = [];
    const mailboxTables = mailboxTablesOf(server.db);
    const stop = () => result.status === 'err' && !options.continueOnError;
    if (!stop())
      for (const planned of plan.accounts) {
        progress(`${planned.email}: loading ${planned.manifest.label}`);
        const entry: RestoredAccount = {
          email: planned.email,
          zimbraId: planned.zimbraId,
          label: planned.manifest.label,
          mailboxId: null,
          status: 'restored',
        };
        result.accounts.push(entry);
        try {
          const account = await restoreAccountFromFull(
            {
              server,
              ldap,
              files: base.files,
              volumes: base.volumes,
              journal,
              target: options.target,
              mailboxGroups: base.mailboxGroups,
              directory,
              createdByDeadRun: new Set(created.map((e) => e.email.toLowerCase())),
              createAccount: options.createAccount,
              restoreAccount: options.restoreAccount,
              excludeBlobs: options.excludeBlobs,
              excludeSearchIndex: options.excludeSearchIndex,
              recordStaging: (dirs) => recordStaging(journalDir, hostname, dirs),
              mailboxTables,
              failpoint: options.failpoint,
            },
            planned,
          );
          loaded.push(account);
          entry.mailboxId = account.replay?.mailboxId ?? null;
          entry.rows = account.rows?.rows;
          entry.blobs = account.files ? account.files.blobs + account.files.shared : undefined;
          entry.indexFiles = account.files?.index;
          entry.filesLinked = account.files?.linked;
          if (options.createAccount) entry.restoredAs = { email: account.email, zimbraId: account.zimbraId };
        } catch (error) {
          entry.error = (error as Error).message;
          // Deleted from the directory since the backup: --skipDeletedAccounts (and -a all) pass over it.
          if (error instanceof AccountNotOnServerError && skipMissing) {
            entry.status = 'skipped';
            progress(`${planned.email}: skipped: ${entry.error}`);
            continue;
          }
          entry.status = 'error';
          result.status = 'err';
          if (stop()) break;
        }
      }

    // --excludeSearchIndex leaves the index as it was, which no longer matches the restored rows.
    if (options.excludeSearchIndex)
      for (const a of loaded)
        if (a.replay) result.reindex.push({ email: a.email, ...(await requestReindex(server, a.email)) });
    const replayed = loaded.filter((a) => a.replay !== null);
    if (plan.redo && replayed.length > 0 && !stop()) {
      const candidates = await targetRedoLogs(options.target);
      if (!options.backedUpRedoOnly)
        candidates.push(...(await serverRedoLogs(server, path.join(journalDir, 'redolog'))));
      const selection = selectLogs(candidates, { fromSeq: plan.redo.fromSeq, toSeq: plan.redo.toSeq });
      result.redo = { ...plan.redo, gaps: selection.gaps };
      if (selection.gaps.length > 0) {
        const gaps = selection.gaps
          .map((g) => (g.from === g.to ? `${g.from}` : `${g.from}-${g.to}`))
          .join(', ');
        const message = `redo logs missing (sequence ${gaps}): the accounts cannot be brought past them`;
        if (!options.ignoreRedoErrors)
          throw new Error(`${message}; --ignoreRedoErrors replays what there is`);
        result.warnings.push(message);
      }
      progress(`replaying ${selection.logs.length} redo log(s) for ${replayed.length} mailbox(es)`);
      await options.failpoint?.('replay');
      result.replay = await playRedo({
        ...base,
        logs: selection.logs,
        toTime: plan.redo.toTime,
        mailboxes: new Map(replayed.map((a) => [a.replay!.sourceId, a.replay!])),
        skipDeletes: options.skipDeletes,
        stopOnError: !options.ignoreRedoErrors,
        threads: options.threads,
        // --excludeBlobs: the message volumes' files stay as they are, unreferenced ones too.
        keepUnreferencedBlobs: options.excludeBlobs,
      });
      for (const e of result.replay.errors)
        result.warnings.push(`redo: mailbox ${e.mailboxId} ${e.op}: ${e.message}`);
      // Lucene files are mailboxd's to write: the index is the full's, and a reindex brings it level.
      for (const a of replayed)
        if (!options.excludeSearchIndex && result.replay.mailboxes.includes(a.replay!.mailboxId))
          result.reindex.push({ email: a.email, ...(await requestReindex(server, a.email)) });
    }
    return result;
  } catch (error) {
    result.status = 'err';
    throw error;
  } finally {
    // Reactivation comes first, whatever happened; if the link is gone the journal stays for the next run.
    for (const e of [...journal.pending]) {
      progress(`${e.email}: reactivating`);
      await journal.leave(ldap, e.dn).catch(() => undefined);
    }
    await options.failpoint?.('reactivated');
    if (journal.pending.length === 0) await removeJournalDir(journalDir);
    await ldap.unbind().catch(() => undefined);
    await lock.release().catch(() => undefined);
    result.notRestored = result.accounts.filter((a) => a.status !== 'restored').map((a) => a.email);
  }
}

export { givenRedoLogs };

/**
 * What killed restores left in tmp/ (their journal is dealt with by recoverMaintenance, their
 * staging folders by removeStagingOfDeadRuns, their copies of remote redo logs are scratch).
 * Called holding the lock: none of them is live.
 */
async function removeDeadRestoreDirs(target: string): Promise<void> {
  for (const dir of await restoreRunDirs(target))
    if (!fs.existsSync(path.join(dir, JOURNAL_FILE)) && !fs.existsSync(path.join(dir, STAGING_RECORD)))
      await fs.promises.rm(dir, { recursive: true, force: true });
}

const restoreRunDirs = async (target: string): Promise<string[]> => {
  const tmp = targetPaths(target).tmp;
  const names = await fs.promises.readdir(tmp).catch(() => [] as string[]);
  return names.filter((name) => /^restore-\d+-\d+$/.test(name)).map((name) => path.join(tmp, name));
};

/**
 * The staging folders a run is about to write files into (restore-account.ts), one JSON line
 * each with the server they are on, in the run's directory: a run killed before it put them in
 * place or removed them leaves this record for the next run.
 */
const STAGING_RECORD = 'staging-folders.jsonl';

/** <mailbox group>/<mailbox id><suffix> under a volume: what mailbox-files.ts stagingDir names. */
const stagingShape = new RegExp(`^\\d+/\\d+${STAGING_SUFFIX.replaceAll('.', '\\.')}$`);

async function recordStaging(runDir: string, server: string, dirs: string[]): Promise<void> {
  await fs.promises.mkdir(runDir, { recursive: true });
  const lines = dirs.map((dir) => `${JSON.stringify({ server, dir })}\n`).join('');
  await fs.promises.appendFile(path.join(runDir, STAGING_RECORD), lines);
}

/**
 * Removes, from this server, the staging folders that dead runs recorded (a -ca copy's mailbox id
 * is new on each run, so its rerun does not stage under the same name). Only a folder named as a
 * staging folder and lying on one of the server's volumes is removed, whatever the record says.
 * Lines for other servers stay for their next run.
 */
async function removeStagingOfDeadRuns(
  target: string,
  server: string,
  files: ServerFiles,
  volumes: Volume[],
  ownRunDir: string,
): Promise<void> {
  for (const dir of await restoreRunDirs(target)) {
    if (dir === ownRunDir) continue;
    const record = path.join(dir, STAGING_RECORD);
    let text: string;
    try {
      text = await fs.promises.readFile(record, 'utf8');
    } catch {
      continue;
    }
    const others: string[] = [];
    for (const line of text.split('\n')) {
      let entry: { server?: unknown; dir?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // empty, or the last line of a run killed while writing it
      }
      if (entry.server !== server) {
        others.push(line);
        continue;
      }
      const staged = typeof entry.dir === 'string' ? path.posix.normalize(entry.dir) : '';
      if (volumes.some((v) => stagingShape.test(path.posix.relative(v.path, staged))))
        await files.removeTree(staged);
    }
    if (others.length > 0) await fs.promises.writeFile(record, `${others.join('\n')}\n`);
    else await fs.promises.rm(record, { force: true });
  }
}

/**
 * The run's directory in tmp/, its maintenance journal last: until then a rerun still finds the
 * copies (-ca) this run created and makes them again instead of refusing them as existing.
 */
async function removeJournalDir(dir: string): Promise<void> {
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  for (const name of names)
    if (name !== JOURNAL_FILE) await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
  await fs.promises.rm(dir, { recursive: true, force: true });
}
