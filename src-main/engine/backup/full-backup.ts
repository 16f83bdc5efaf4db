import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { RowDataPacket } from 'mysql2/promise';
import { accountsOnServer, serverZimbraId, type DirectoryAccount } from '../ldap/directory';
import type { ServerAccess } from '../server/server-access';
import { LocalTransport } from '../transport/local-transport';
import { TransportError } from '../transport/types';
import { volumeFromRow } from '../server/volumes';
import { acquireLock } from '../target/lock';
import type { Manifest, ManifestError, ZipMode } from '../target/manifest';
import { SessionWriter, type ManifestAccountInput } from '../target/session-writer';
import {
  captureMailbox,
  prepareAccount,
  type AccountBackupContext,
  type CapturedAccount,
  type PreparedAccount,
} from './account-backup';
import { currentRedoSeq, deleteOnRolloverWarning } from './redo-archive';
import { SharedBlobs } from './shared-blobs';
import { mailboxdCache } from './mailbox-cache';
import { zimbraLogDirectory } from '../replay/playredo-guard';
import { JOURNAL_FILE, MaintenanceJournal, recoverMaintenance } from './maintenance';
import { backupDirectory, backupSystem } from './system-backup';

export interface FullBackupOptions {
  target: string;
  /** 'all' accounts of the server, or these addresses. */
  accounts: 'all' | string[];
  zip: ZipMode;
  blobs: boolean;
  index: boolean;
  engineVersion: string;
  /** Told the label as soon as the session exists (the CLI prints it at once). */
  onLabel?: (label: string) => void;
  /** Told what the administrator should know at once (also kept in the manifest's warnings). */
  onWarning?: (message: string) => void;
  /** Stops after the account in hand; the session is committed as aborted. */
  signal?: AbortSignal;
  inMaintenance?: AccountBackupContext['inMaintenance'];
  /**
   * A fresh connection to the same server, used only when the backup failed with accounts still
   * in maintenance and the current connection can no longer restore them (a dropped SSH link).
   */
  reconnect?: () => Promise<ServerAccess>;
}

/**
 * One clear line for the administrator: a dropped link is reported as such (the client library's
 * own words, e.g. "Connection closed before message response", come after), and every message
 * names the server.
 */
export async function explainFailure(server: ServerAccess, error: unknown): Promise<Error> {
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof TransportError) return error;
  try {
    await server.transport.exec(['true'], { timeoutMs: 5000 });
  } catch (linkError) {
    if (linkError instanceof TransportError)
      return new TransportError(
        server.name,
        `${linkError.message.replace(`${server.name}: `, '')} (${message})`,
        { code: linkError.code, cause: error },
      );
  }
  const named = message.includes(server.name) ? message : `${server.name}: ${message}`;
  return new Error(named, { cause: error });
}

/** Puts journalled accounts back, over a new connection if the old one is gone. */
async function restoreAccounts(
  journal: MaintenanceJournal,
  ldap: Client,
  reconnect?: () => Promise<ServerAccess>,
): Promise<void> {
  if (journal.pending.length === 0) return;
  try {
    await journal.leaveAll(ldap);
    return;
  } catch (error) {
    if (!reconnect) throw error;
  }
  const fresh = await reconnect();
  try {
    const client = await fresh.ldap();
    try {
      await journal.leaveAll(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  } finally {
    await fresh.close();
  }
}

/** A failure after which no further account can succeed: the link or the database is gone, or the disk is full. */
export function isFatal(error: unknown): boolean {
  const e = error as { code?: string; fatal?: boolean; message?: string };
  // ldapts says "Connection closed before message response was received": the run's one LDAP
  // connection is gone, whichever account was in hand.
  if (e?.fatal === true || /connection (lost|closed)/i.test(e?.message ?? '')) return true;
  return [
    'CONNECTION_LOST',
    'CLOSED',
    'ENOSPC',
    'EDQUOT',
    'PROTOCOL_CONNECTION_LOST',
    'ECONNREFUSED',
    'ECONNRESET',
  ].includes(e?.code ?? '');
}

/**
 * Accounts whose rows may still be streaming while the next one is copied: over SSH one (the
 * rows share the link with everything else); locally several, each on its own connection.
 */
const MAX_TAILS_SSH = 1;
const MAX_TAILS_LOCAL = 2;
/**
 * Accounts prepared ahead of the one in its window, locally: two pre-copies at once keep two
 * archive threads busy (an account's blobs are one archive, built on one thread).
 */
const PREPARE_AHEAD_LOCAL = 2;

export async function selectAccounts(
  ldap: Client,
  hostname: string,
  wanted: 'all' | string[],
): Promise<{ found: DirectoryAccount[]; missing: string[] }> {
  const all = await accountsOnServer(ldap, hostname);
  if (wanted === 'all') return { found: all, missing: [] };
  const byEmail = new Map(all.map((a) => [a.email.toLowerCase(), a]));
  const found: DirectoryAccount[] = [];
  const missing: string[] = [];
  for (const email of wanted) {
    const account = byEmail.get(email.toLowerCase());
    if (account) found.push(account);
    else missing.push(email);
  }
  return { found, missing };
}

/**
 * SPEC §1, full backup: system data, then each account (LDAP entry, maintenance, mailbox rows,
 * blobs, index, reactivation), then the whole directory; committed as one session.
 */
export async function runFullBackup(server: ServerAccess, options: FullBackupOptions): Promise<Manifest> {
  const { hostname } = server.settings;
  const lock = await acquireLock(options.target, { operation: 'full backup' });
  const ldap = await server.ldap();
  let session: SessionWriter | undefined;
  let journal: MaintenanceJournal | undefined;
  try {
    await recoverMaintenance(options.target, hostname, ldap);
    session = await SessionWriter.create(options.target, { type: 'full', lock });
    options.onLabel?.(session.label);
    journal = new MaintenanceJournal(path.join(session.dir, JOURNAL_FILE), hostname);
    const stagingDir = path.join(session.dir, '.staging');
    const serverId = await serverZimbraId(ldap, hostname);
    const seqAtStart = await currentRedoSeq(server);
    const rolloverWarning = await deleteOnRolloverWarning(ldap, hostname);
    if (rolloverWarning) options.onWarning?.(rolloverWarning);

    await backupSystem(server, session);
    const [volumeRows] = await server.db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
    const { found, missing } = await selectAccounts(ldap, hostname, options.accounts);
    const errors: ManifestError[] = missing.map((email) => ({
      email,
      message: `${email} is not an account on ${hostname}`,
    }));
    const context: AccountBackupContext = {
      server,
      session,
      ldap,
      journal,
      stagingDir,
      volumes: volumeRows.map(volumeFromRow),
      mailboxGroups: server.settings.mailboxGroups,
      zip: options.zip,
      blobs: options.blobs,
      index: options.index,
      inMaintenance: options.inMaintenance,
      tables: new Map(),
      shared: new SharedBlobs(),
      mailboxCache: await mailboxdCache(server.transport, server.zimbraHome, zimbraLogDirectory(server)),
      onWarning: options.onWarning,
    };
    const results: ManifestAccountInput[] = [];
    let done = 0;
    const failed = (account: DirectoryAccount, error: unknown, keepBlobs: boolean) => async () => {
      if (isFatal(error)) throw error;
      const message = (error as Error).message;
      await session!.removeAccount(account.zimbraId, { keepBlobs });
      errors.push({ zimbraId: account.zimbraId, email: account.email, message });
      return {
        zimbraId: account.zimbraId,
        email: account.email,
        mailboxId: null,
        status: 'ERROR',
        error: message,
        maintenance: null,
      } satisfies ManifestAccountInput;
    };
    const report = (current: string | null) =>
      session!.progress({
        accounts: { done, total: found.length, errors: errors.length - missing.length },
        currentAccount: current,
      });
    // Locally, the next accounts are prepared (entries read, files pre-copied on the archive
    // threads) while this one is in its window and its archives are completed, and the rows of
    // the last two stream meanwhile: a window is mostly waiting (the directory's writes) and so is
    // a dump (a query per table). Measured on bench/full-backup.ts
    // (100 × 500, local) once the pre-copy had moved to the archive threads: the window waiting
    // for the previous account's rows was most of the run's wall time.
    const local = server.transport instanceof LocalTransport;
    const prepareAhead = local ? PREPARE_AHEAD_LOCAL : 0;
    const maxTails = local ? MAX_TAILS_LOCAL : MAX_TAILS_SSH;
    // An account's rows stream from its snapshot while the next account is copied: the tail of
    // one overlaps the pre-copy of the next, each on its own connection.
    const tails: Array<Promise<void>> = [];
    const settleTails = async (keep: number) => {
      while (tails.length > keep) await tails.shift();
    };
    // Over SSH not its window: measured (100 × 500), the window's p99 was 425 ms with a dump
    // streaming through the same connection, against a p50 of 45 ms. (A tail's fatal error is
    // thrown once the capture in hand returns, as before.)
    if (!local) context.beforeWindow = () => settleTails(0);
    let aborted = false;
    let fatal: unknown;
    const prepare = (account: DirectoryAccount) => {
      const preparing = prepareAccount(context, account);
      preparing.catch(() => undefined); // awaited in its turn; meanwhile not "unhandled"
      return preparing;
    };
    const upcoming = new Map<number, Promise<PreparedAccount>>();
    try {
      for (const [i, account] of found.entries()) {
        if (options.signal?.aborted) {
          aborted = true;
          break;
        }
        report(account.email);
        const preparing = upcoming.get(i) ?? prepare(account);
        upcoming.delete(i);
        let captured: CapturedAccount;
        try {
          const prepared = await preparing;
          for (let next = i + 1; next <= i + prepareAhead && next < found.length; next++)
            if (!upcoming.has(next)) upcoming.set(next, prepare(found[next]!));
          captured = await captureMailbox(context, prepared);
        } catch (error) {
          results[i] = await failed(account, error, false)();
          done++;
          continue;
        }
        const tail = captured.dumpRows().then(
          (result) => result,
          (error: unknown) => failed(account, error, captured.holdsShared)(),
        );
        tails.push(
          tail.then(
            (result) => {
              results[i] = result;
              done++;
            },
            (error: unknown) => {
              fatal ??= error;
            },
          ),
        );
        await settleTails(maxTails);
        if (fatal) throw fatal;
      }
    } finally {
      // Stopped early (aborted, or a fatal error): the accounts prepared ahead are given up.
      for (const preparing of upcoming.values())
        await preparing.then(
          (prepared) => prepared.abandon(),
          () => undefined,
        );
    }
    await settleTails(0);
    if (fatal) throw fatal;
    // Every account is back: the journal goes (it may still list some, see MaintenanceJournal.leave).
    await journal.close();
    const accounts = results.filter((r): r is ManifestAccountInput => r !== undefined);
    report(null);
    await backupDirectory(ldap, session);
    await fs.promises.rm(stagingDir, { recursive: true, force: true });
    const seqAtEnd = await currentRedoSeq(server);
    const input = {
      server: { hostname, zimbraId: serverId },
      engineVersion: options.engineVersion,
      redo: {
        seq: seqAtStart !== null && seqAtEnd !== null ? { min: seqAtStart, max: seqAtEnd } : null,
        timeMs: null,
      },
      options: { zip: options.zip, blobs: options.blobs, index: options.index },
      ...(rolloverWarning ? { warnings: [rolloverWarning] } : {}),
      accounts,
      errors,
    };
    if (aborted) return await session.abort(input);
    return await session.commit({
      ...input,
      status: errors.length > 0 ? 'completed with errors' : 'completed',
    });
  } catch (error) {
    // Accounts first: they matter more than the session. If the link is gone, the journal stays
    // and the next run restores them (recoverMaintenance).
    if (journal) await restoreAccounts(journal, ldap, options.reconnect).catch(() => undefined);
    const explained = await explainFailure(server, error);
    await session?.discard(explained.message).catch(() => undefined);
    // Discarding removed the journal with the session: accounts still in maintenance (LDAP was
    // down too) must stay journalled for the next run, or they stay in maintenance for good.
    if (journal && journal.pending.length > 0) await journal.keepForNextRun().catch(() => undefined);
    throw explained;
  } finally {
    await ldap.unbind().catch(() => undefined);
    await lock.release().catch(() => undefined);
  }
}
