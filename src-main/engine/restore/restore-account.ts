import crypto from 'node:crypto';
import { Attribute, type Client } from 'ldapts';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { MaintenanceJournal } from '../backup/maintenance';
import { discoverMailboxTables, type MailboxTable } from '../digest/mailbox-tables';
import type { DirectoryAccount } from '../ldap/directory';
import type { LdifEntry } from '../ldap/ldif';
import type { ReplayMailbox } from '../replay/apply-ops';
import type { ServerFiles } from '../replay/server-files';
import type { ServerAccess } from '../server/server-access';
import { mailboxDir, mailboxGroupDb, type Volume } from '../server/volumes';
import { accountPaths, resolveInside, sessionDir } from '../target/layout';
import { attribute, parseLdif, setAttribute } from './ldif-read';
import {
  putStagedFilesInPlace,
  removeMailboxFiles,
  removeStagedFiles,
  restoreMailboxFiles,
  stagingDir,
  stagingDirs,
  type FilesRestored,
} from './mailbox-files';
import type { PlannedAccount } from './restore-plan';
import { loadSqlDump, type LoadStats } from './sql-load';
import fs from 'node:fs';

/**
 * One account from its full (SPEC §1 in reverse): maintenance (journalled), the mailbox's
 * current rows deleted in every table that holds them and the session's rows loaded in the same
 * transaction, while its blobs and index are unpacked into staging folders beside its mailbox
 * folders; once the rows are committed the staged folders replace the mailbox's (so a load that
 * fails leaves the rows and the files as they were). With -ra / -ca the LDAP entry is recreated
 * or created. The account stays in maintenance: the caller replays redo, then reactivates it.
 */
export interface AccountRestoreContext {
  server: ServerAccess;
  ldap: Client;
  files: ServerFiles;
  volumes: Volume[];
  journal: MaintenanceJournal;
  target: string;
  mailboxGroups: number;
  directory: DirectoryAccount[];
  /** Emails (lower case) of accounts that killed -ca runs created: made again, not refused. */
  createdByDeadRun?: ReadonlySet<string>;
  createAccount?: { prefix: string };
  restoreAccount?: boolean;
  excludeBlobs?: boolean;
  excludeSearchIndex?: boolean;
  /**
   * Called with the staging folders of a mailbox before they are written, so that a run killed
   * after that leaves a record the next run removes them by (run-restore.ts).
   */
  recordStaging?: (dirs: string[]) => Promise<void>;
  /** The tables holding mailbox rows, by group database, shared by the accounts of a run (mailboxTablesOf). */
  mailboxTables?: MailboxTablesOf;
  failpoint?: (step: string) => Promise<void>;
}

export type MailboxTablesOf = (groupDb: string) => Promise<MailboxTable[]>;

/**
 * discoverMailboxTables once per group database: its information_schema queries cost MariaDB
 * ~0.1-0.2 s, and the schema does not change while accounts are restored.
 */
export function mailboxTablesOf(db: ServerAccess['db']): MailboxTablesOf {
  const found = new Map<string, Promise<MailboxTable[]>>();
  return (groupDb) => {
    let tables = found.get(groupDb);
    if (!tables) {
      tables = discoverMailboxTables(db, groupDb);
      // A failure reaches whoever awaits it; one asked for ahead of time may never be awaited.
      tables.catch(() => undefined);
      found.set(groupDb, tables);
    }
    return tables;
  };
}

export interface LoadedAccount {
  planned: PlannedAccount;
  email: string;
  zimbraId: string;
  dn: string;
  /** Null when the account had no mailbox yet at backup time. */
  replay: ReplayMailbox | null;
  rows: LoadStats | null;
  files: FilesRestored | null;
}

export class AccountNotOnServerError extends Error {}

const first = (entry: LdifEntry, name: string) => {
  const v = attribute(entry, name)[0];
  return v === undefined ? undefined : String(v);
};

async function readAccountLdif(target: string, planned: PlannedAccount): Promise<LdifEntry> {
  const file = resolveInside(sessionDir(target, planned.manifest.label), accountPaths(planned.zimbraId).ldif);
  const [entry] = parseLdif(await fs.promises.readFile(file, 'utf8'));
  if (!entry) throw new Error(`${planned.email}: the session's ldap.ldif holds no entry`);
  return entry;
}

async function addEntry(ldap: Client, entry: LdifEntry): Promise<void> {
  const attributes = Object.entries(entry.attributes).map(
    ([type, values]) =>
      new Attribute({
        type,
        values: values.every((v) => typeof v === 'string')
          ? (values as string[])
          : values.map((v) => Buffer.from(v)),
      }),
  );
  await ldap.add(entry.dn, attributes);
}

/** The next mailbox id (current_volumes.next_mailbox_id, as Mailbox.create takes it). */
async function allocateMailboxId(c: PoolConnection): Promise<number> {
  await c.beginTransaction();
  try {
    const [cv] = await c.query<RowDataPacket[]>(
      'SELECT next_mailbox_id FROM zimbra.current_volumes FOR UPDATE',
    );
    const [max] = await c.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM zimbra.mailbox');
    const id = Math.max(Number(cv[0]?.next_mailbox_id ?? 1), Number(max[0]?.id ?? 0) + 1);
    await c.query('UPDATE zimbra.current_volumes SET next_mailbox_id = ?', [id + 1]);
    await c.commit();
    return id;
  } catch (error) {
    await c.rollback().catch(() => undefined);
    throw error;
  }
}

async function deleteMailboxRows(
  c: PoolConnection,
  mailboxId: number,
  groups: number,
  tablesOf: MailboxTablesOf,
) {
  for (const table of await tablesOf(mailboxGroupDb(mailboxId, groups)))
    await c.query(
      `DELETE FROM \`${table.database}\`.\`${table.name}\` WHERE \`${table.mailboxColumn}\` = ?`,
      [mailboxId],
    );
}

export async function restoreAccountFromFull(
  ctx: AccountRestoreContext,
  planned: PlannedAccount,
): Promise<LoadedAccount> {
  const tablesOf = ctx.mailboxTables ?? mailboxTablesOf(ctx.server.db);
  // Asked for now, while the directory work goes on: the mailbox mostly comes back under its id.
  if (planned.account.mailboxId !== null)
    void tablesOf(mailboxGroupDb(planned.account.mailboxId, ctx.mailboxGroups));
  const ldif = await readAccountLdif(ctx.target, planned);
  const backedUpStatus = first(ldif, 'zimbraAccountStatus') ?? 'active';
  let email = planned.email;
  let zimbraId = planned.zimbraId;
  let dn: string;
  if (ctx.createAccount) {
    const [local, domain] = planned.email.split('@') as [string, string];
    email = `${ctx.createAccount.prefix}${local}@${domain}`;
    const existing = ctx.directory.find((a) => a.email.toLowerCase() === email.toLowerCase());
    // A copy that a killed run with this prefix created is made again under its own id (so its
    // mailbox rows are found and replaced); any other account of that name is someone's.
    const remake = existing && ctx.createdByDeadRun?.has(email.toLowerCase()) ? existing : undefined;
    if (existing && !remake) throw new Error(`${email} exists already: choose another prefix`);
    zimbraId = remake?.zimbraId ?? crypto.randomUUID();
    dn = ldif.dn.replace(/^[^,]+/, `uid=${ctx.createAccount.prefix}${first(ldif, 'uid') ?? local}`);
    const entry: LdifEntry = { dn, attributes: { ...ldif.attributes } };
    setAttribute(entry, 'zimbraId', [zimbraId]);
    setAttribute(entry, 'uid', [`${ctx.createAccount.prefix}${first(ldif, 'uid') ?? local}`]);
    setAttribute(entry, 'mail', [email]);
    setAttribute(entry, 'zimbraMailDeliveryAddress', [email]);
    // Aliases belong to the original account.
    setAttribute(entry, 'zimbraMailAlias', []);
    setAttribute(entry, 'zimbraAccountStatus', ['maintenance']);
    await ctx.journal.enterAs(ctx.ldap, { dn, email }, backedUpStatus, { created: true });
    if (remake) await ctx.ldap.del(remake.dn);
    await addEntry(ctx.ldap, entry);
  } else {
    const current =
      ctx.directory.find((a) => a.zimbraId.toLowerCase() === zimbraId.toLowerCase()) ??
      ctx.directory.find((a) => a.email.toLowerCase() === email.toLowerCase());
    if (ctx.restoreAccount) {
      dn = ldif.dn;
      await ctx.journal.enterAs(ctx.ldap, { dn, email }, backedUpStatus);
      if (current) await ctx.ldap.del(current.dn);
      const entry: LdifEntry = { dn, attributes: { ...ldif.attributes } };
      setAttribute(entry, 'zimbraAccountStatus', ['maintenance']);
      await addEntry(ctx.ldap, entry);
    } else {
      if (!current)
        throw new AccountNotOnServerError(
          `${email} is not an account on ${ctx.server.settings.hostname}: restore it with -ra, or into a new account with -ca -pre`,
        );
      dn = current.dn;
      zimbraId = current.zimbraId;
      await ctx.journal.enter(ctx.ldap, { dn, email });
    }
  }
  await ctx.failpoint?.('maintenance');
  const loaded: LoadedAccount = { planned, email, zimbraId, dn, replay: null, rows: null, files: null };
  if (planned.account.mailboxId === null) return loaded;

  const backedUpId = planned.account.mailboxId;
  const c = await ctx.server.db.getConnection();
  let mailboxId: number;
  try {
    const [held] = await c.query<RowDataPacket[]>(
      'SELECT id, account_id FROM zimbra.mailbox WHERE account_id = ? OR id = ?',
      [zimbraId, backedUpId],
    );
    const own = held
      .filter((r) => String(r.account_id).toLowerCase() === zimbraId.toLowerCase())
      .map((r) => Number(r.id));
    const takenByOther = held.some((r) => Number(r.id) === backedUpId && !own.includes(backedUpId));
    mailboxId = ctx.createAccount || takenByOther ? await allocateMailboxId(c) : backedUpId;
    const groupDb = mailboxGroupDb(mailboxId, ctx.mailboxGroups);
    const remap =
      mailboxId !== backedUpId || zimbraId !== planned.zimbraId || email !== planned.email
        ? {
            mailboxId,
            groupDb,
            accountId: zimbraId,
            email,
            groupId: ((mailboxId - 1) % ctx.mailboxGroups) + 1,
          }
        : undefined;
    const sql = resolveInside(
      sessionDir(ctx.target, planned.manifest.label),
      accountPaths(planned.zimbraId).mailboxSql,
    );
    const keep = { blobs: ctx.excludeBlobs, index: ctx.excludeSearchIndex };
    // A killed run's staged files first (recorded, and by name), then this run's, written while
    // MariaDB loads the rows: the two wait on different things (the load mostly on MariaDB, the
    // files on the disk and this process), and each stops when the other fails.
    await ctx.recordStaging?.(stagingDirs(ctx.volumes, mailboxId, keep));
    await removeStagedFiles(ctx.files, ctx.volumes, mailboxId, keep);
    const stop = new AbortController();
    const stopOtherOnFailure = <T>(work: Promise<T>) =>
      work.catch((error: unknown) => {
        stop.abort(error);
        throw error;
      });
    const staged = stopOtherOnFailure(
      restoreMailboxFiles({
        target: ctx.target,
        manifest: planned.manifest,
        zimbraId: planned.zimbraId,
        mailboxId,
        volumes: ctx.volumes,
        files: ctx.files,
        withBlobs: !ctx.excludeBlobs,
        withIndex: !ctx.excludeSearchIndex,
        folderOf: (volume) => stagingDir(volume, mailboxId),
        // The folders the staged ones replace: the files the mailbox still has as backed up are linked, not written.
        liveFolderOf: (volume) => mailboxDir(volume, mailboxId),
        signal: stop.signal,
      }),
    );
    // Awaited below whatever the rows do; this only keeps an early failure from being "unhandled".
    staged.catch(() => undefined);
    try {
      await c.query('SET FOREIGN_KEY_CHECKS = 0');
      await c.beginTransaction();
      try {
        const rows = stopOtherOnFailure(
          (async () => {
            // The mailbox as it is now goes, in every table that holds its rows, in the same transaction as the load.
            for (const id of new Set([...own, mailboxId])) {
              stop.signal.throwIfAborted();
              await deleteMailboxRows(c, id, ctx.mailboxGroups, tablesOf);
            }
            const stats = await loadSqlDump(c, sql, remap, { signal: stop.signal });
            // A mailbox put back under its old id on a server that had forgotten it: new ones come after.
            await c.query('UPDATE zimbra.current_volumes SET next_mailbox_id = GREATEST(next_mailbox_id, ?)', [
              mailboxId + 1,
            ]);
            return stats;
          })(),
        );
        const [rowsDone, filesDone] = await Promise.allSettled([rows, staged]);
        // The first failure is the reason of both when one stopped the other.
        if (rowsDone.status === 'rejected') throw rowsDone.reason;
        if (filesDone.status === 'rejected') throw filesDone.reason;
        loaded.rows = rowsDone.value;
        loaded.files = filesDone.value;
        await c.commit();
      } catch (error) {
        await c.rollback().catch(() => undefined);
        throw error;
      } finally {
        await c.query('SET FOREIGN_KEY_CHECKS = 1').catch(() => undefined);
      }
    } catch (error) {
      // The mailbox's rows are as they were, and so are its folders: what was staged goes.
      stop.abort(error);
      await staged.catch(() => undefined);
      await removeStagedFiles(ctx.files, ctx.volumes, mailboxId, keep).catch(() => undefined);
      throw error;
    }
    await ctx.failpoint?.('rows');
    for (const id of own) if (id !== mailboxId) await removeMailboxFiles(ctx.files, ctx.volumes, id, keep);
    await putStagedFilesInPlace(ctx.files, ctx.volumes, mailboxId, keep);
    await ctx.failpoint?.('files');
    loaded.replay = { sourceId: backedUpId, mailboxId, groupDb, accountId: zimbraId, email };
  } finally {
    c.release();
  }
  return loaded;
}
