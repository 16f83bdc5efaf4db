import path from 'node:path';
import type { Client } from 'ldapts';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { discoverMailboxTables, type MailboxTable } from '../digest/mailbox-tables';
import { readEntry, type DirectoryAccount } from '../ldap/directory';
import { entryToLdif } from '../ldap/ldif';
import type { ServerAccess } from '../server/server-access';
import { indexDir, mailboxDir, mailboxGroupDb, VOLUME_TYPE, type Volume } from '../server/volumes';
import type { ZipMode } from '../target/manifest';
import type { ManifestAccountInput, SessionWriter } from '../target/session-writer';
import { missingBlobs } from './blob-check';
import { FileSnapshot } from './file-snapshot';
import type { MailboxCache } from './mailbox-cache';
import { sharedBlobsTsv, type SharedBlobs } from './shared-blobs';
import type { MaintenanceJournal } from './maintenance';
import { dumpFooter, dumpHeader, dumpTablesRows } from './sql-dump';

/**
 * One account of a full backup, in SPEC §1's order, with the maintenance window kept to what
 * must happen inside it: the LDAP entry and a first copy of blobs and index are taken while the
 * account is live; in maintenance only a consistent database snapshot is opened and the files
 * that changed since are read; the account is then reactivated and the rows are streamed from
 * the snapshot, which still shows the maintenance instant.
 */
export interface AccountBackupContext {
  server: ServerAccess;
  session: SessionWriter;
  ldap: Client;
  journal: MaintenanceJournal;
  volumes: Volume[];
  mailboxGroups: number;
  zip: ZipMode;
  blobs: boolean;
  index: boolean;
  /** Where staging archives are built (inside the session dir, removed before commit). */
  stagingDir: string;
  /** Called once the account is in maintenance, before the snapshot (tests freeze the simulator here). */
  inMaintenance?: (account: DirectoryAccount) => Promise<void>;
  /**
   * Awaited after the pre-copy, just before maintenance begins: the run lets the previous
   * account's SQL dump finish here, so that it overlaps this account's pre-copy but not its
   * window (over SSH the dump's rows and the window's requests share one connection).
   */
  beforeWindow?: () => Promise<void>;
  tables: Map<string, MailboxTable[]>;
  /** Hard-linked blobs already stored in this session by completed accounts. */
  shared: SharedBlobs;
  /** mailboxd's account cache, flushed around each window; null when mailboxd does not run. */
  mailboxCache?: MailboxCache | null;
  onWarning?: (message: string) => void;
}

async function mailboxIdOf(context: AccountBackupContext, zimbraId: string): Promise<number | null> {
  const [rows] = await context.server.db.query<RowDataPacket[]>(
    'SELECT id FROM zimbra.mailbox WHERE account_id = ?',
    [zimbraId],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

async function tablesOf(context: AccountBackupContext, groupDb: string): Promise<MailboxTable[]> {
  let tables = context.tables.get(groupDb);
  if (!tables) {
    tables = await discoverMailboxTables(context.server.db, groupDb);
    context.tables.set(groupDb, tables);
  }
  return tables;
}

/** Makes mailboxd see the status just written (see mailbox-cache.ts); a failure is a warning. */
async function flushCache(context: AccountBackupContext, account: DirectoryAccount): Promise<void> {
  const warning = await context.mailboxCache?.flush(account.zimbraId);
  if (warning) context.onWarning?.(`${account.email}: ${warning}`);
}

/**
 * The connection the snapshot will be taken on, taken from the pool before the window: over SSH
 * a new one is a forwarded channel and a MariaDB login, which measured up to ~0.7 s inside a
 * window (bench/full-backup.ts over SSH, p99) when the pool had to grow.
 */
async function snapshotConnection(context: AccountBackupContext): Promise<PoolConnection> {
  const connection = await context.server.db.getConnection();
  try {
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  } catch (error) {
    connection.release();
    throw error;
  }
  return connection;
}

/** Inside the window: the instant the mailbox's rows are read at. */
async function startSnapshot(connection: PoolConnection): Promise<void> {
  await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
}

/**
 * An account whose files are in the session and whose database snapshot is open: what remains
 * is streaming its rows from that snapshot, which can run while the next account is copied.
 * `holdsShared`: its blobs archive holds content other accounts may refer to, so it must stay
 * in the session even if the rows then fail.
 */
export interface CapturedAccount {
  holdsShared: boolean;
  /** Writes mailbox.sql from the snapshot and releases it; always called exactly once. */
  dumpRows(): Promise<ManifestAccountInput>;
}

interface Snapshot {
  snapshot: FileSnapshot;
  relativeBase: string;
  stagingBase: string;
}

/**
 * An account whose LDAP entry is in the session and whose files are pre-copied, live, with the
 * connection its snapshot will be taken on and its journal entry written: what remains is its
 * window. `abandon` gives all that up (the run stopped first, or the account failed).
 */
export interface PreparedAccount {
  account: DirectoryAccount;
  /** Null: the account has no mailbox (never used); its entry is all there is. */
  mailboxId: number | null;
  snapshots: Snapshot[];
  blobs: FileSnapshot | undefined;
  connection: PoolConnection | undefined;
  abandon(): Promise<void>;
}

/** SPEC §1 up to maintenance: the LDAP entry and the pre-copy of blobs and index. */
export async function prepareAccount(
  context: AccountBackupContext,
  account: DirectoryAccount,
): Promise<PreparedAccount> {
  const { session } = context;
  // The entry is read and written beside the mailbox's id and pre-copy, not before them: over
  // SSH each is a round trip through the link, and in series they were ~25 ms of every account
  // (bench/full-backup.ts, 100 × 500 over SSH).
  const entryWritten = (async () => {
    const entry = await readEntry(context.ldap, account.dn);
    if (!entry) throw new Error(`${account.email}: its LDAP entry ${account.dn} is gone`);
    await session.writeAccountLdif(account.zimbraId, entryToLdif(entry));
  })();
  entryWritten.catch(() => undefined); // awaited below; meanwhile not "unhandled"
  let mailboxId: number | null;
  try {
    mailboxId = await mailboxIdOf(context, account.zimbraId);
  } catch (error) {
    await entryWritten.catch(() => undefined);
    throw error;
  }
  // Zimbra creates a mailbox on first use: an account never used has only its LDAP entry.
  if (mailboxId === null) {
    await entryWritten;
    return {
      account,
      mailboxId,
      snapshots: [],
      blobs: undefined,
      connection: undefined,
      abandon: async () => undefined,
    };
  }

  const paths = session.accountPaths(account.zimbraId);
  const staging = path.join(context.stagingDir, account.zimbraId);
  const snapshots: Snapshot[] = [];
  let blobs: FileSnapshot | undefined;
  if (context.blobs) {
    const sources = context.volumes
      .filter((v) => v.type === VOLUME_TYPE.primaryMessage || v.type === VOLUME_TYPE.secondaryMessage)
      .map((v) => ({ root: mailboxDir(v, mailboxId), prefix: `${v.id}/` }));
    const stagingBase = path.join(staging, 'blobs');
    blobs = new FileSnapshot(context.server.transport, sources, stagingBase, context.zip, {
      shared: context.shared,
      owner: account.zimbraId,
    });
    snapshots.push({ snapshot: blobs, relativeBase: paths.blobsDir, stagingBase });
  }
  const indexVolume = context.volumes.find((v) => v.type === VOLUME_TYPE.index);
  if (context.index && indexVolume) {
    const stagingBase = path.join(staging, 'index');
    const sources = [{ root: indexDir(indexVolume, mailboxId), prefix: '' }];
    snapshots.push({
      snapshot: new FileSnapshot(context.server.transport, sources, stagingBase, context.zip),
      relativeBase: paths.indexDir,
      stagingBase,
    });
  }
  let connection: PoolConnection | undefined;
  const abandon = async () => {
    context.journal.unexpect(account.dn);
    connection?.release();
    connection = undefined;
    await Promise.all(snapshots.map((s) => s.snapshot.abort()));
  };
  try {
    // Blobs and index are independent: copy them side by side (over SSH, on separate channels),
    // and meanwhile write the LDAP entry, take the snapshot's connection and write the account's
    // journal entry, so that the window has neither to wait for (MaintenanceJournal.expect). All
    // settle before a failure is thrown, so that abandoning finds nothing still writing.
    const steps = [
      entryWritten,
      ...snapshots.map((s) => s.snapshot.preCopy()),
      snapshotConnection(context).then((taken) => {
        connection = taken;
      }),
      context.journal.expect(context.ldap, account),
    ];
    await Promise.allSettled(steps);
    await Promise.all(steps);
  } catch (error) {
    await abandon();
    throw error;
  }
  return { account, mailboxId, snapshots, blobs, connection, abandon };
}

/**
 * SPEC §1 for a prepared account up to the point where it is live again with everything but its
 * rows in the session: the maintenance window (snapshot + catch-up), the archives completed and
 * their shared blobs registered.
 */
export async function captureMailbox(
  context: AccountBackupContext,
  prepared: PreparedAccount,
): Promise<CapturedAccount> {
  const { session } = context;
  const { account, mailboxId, snapshots, blobs } = prepared;
  const base: ManifestAccountInput = {
    zimbraId: account.zimbraId,
    email: account.email,
    mailboxId: null,
    status: 'INPROGRESS',
    maintenance: null,
  };
  if (mailboxId === null)
    return { holdsShared: false, dumpRows: async () => ({ ...base, status: 'COMPLETED' }) };
  const paths = session.accountPaths(account.zimbraId);
  const connection = prepared.connection!;
  try {
    await context.beforeWindow?.();

    const startMs = Date.now();
    await context.journal.enter(context.ldap, account);
    const putBack = async () => {
      // Not written now: the next write of the journal (or its removal) drops the entry.
      await context.journal.leave(context.ldap, account.dn, { write: false });
      const endMs = Date.now();
      await flushCache(context, account);
      return endMs;
    };
    try {
      await flushCache(context, account);
      await context.inMaintenance?.(account);
      // The window is as long as the slowest of these, not their sum.
      const opening = startSnapshot(connection);
      const caughtUp = Promise.all(snapshots.map((s) => s.snapshot.catchUp()));
      // Both settle before the window closes, whichever fails.
      await Promise.allSettled([opening, caughtUp]);
      await Promise.all([opening, caughtUp]);
    } catch (error) {
      await putBack();
      throw error;
    }
    // The account goes back to its status while its archives are completed: neither needs the other.
    const back = putBack();
    const archives = (async () => {
      for (const s of snapshots) {
        const result = await s.snapshot.finish();
        const builtPath = context.zip === 'none' ? s.stagingBase : `${s.stagingBase}.zip`;
        await session.adoptArchive(s.relativeBase, { path: builtPath, mode: context.zip }, result);
      }
    })();
    await Promise.allSettled([back, archives]);
    const endMs = await back; // the account first: its failure is the one to report
    await archives;
    const references = blobs?.sharedReferences();
    if (references && references.size > 0)
      await session.writeFile(paths.sharedBlobs, sharedBlobsTsv(references));
    // The archive is complete and stays even if the rows fail (see CapturedAccount), so later
    // accounts may refer to it from here on.
    const linked = blobs?.storedLinkedFiles() ?? [];
    context.shared.register(account.zimbraId, linked);

    const snapshot = connection; // the tail's from here on: it releases it
    const held = blobs?.heldNames();
    return {
      holdsShared: linked.length > 0,
      dumpRows: async () => {
        try {
          // On the snapshot, after the window: the rows must not refer to a blob the archive lacks.
          if (held) await checkBlobsHeld(context, account, mailboxId, snapshot, held);
          await dumpMailboxRows(context, account, mailboxId, snapshot);
          return { ...base, mailboxId, status: 'COMPLETED', maintenance: { startMs, endMs } };
        } finally {
          snapshot.release();
        }
      },
    };
  } catch (error) {
    await prepared.abandon();
    throw error;
  }
}

async function checkBlobsHeld(
  context: AccountBackupContext,
  account: DirectoryAccount,
  mailboxId: number,
  snapshot: PoolConnection,
  held: Set<string>,
): Promise<void> {
  const missing = await missingBlobs(snapshot, mailboxId, context.mailboxGroups, context.volumes, held);
  if (missing.length > 0)
    throw new Error(
      `${account.email}: ${missing.length} blob(s) its rows refer to are missing on the server: ${missing
        .slice(0, 3)
        .join(', ')}${missing.length > 3 ? ', …' : ''}`,
    );
}

/** mailbox.sql: every mboxgroup table's rows of this mailbox, from the maintenance snapshot. */
async function dumpMailboxRows(
  context: AccountBackupContext,
  account: DirectoryAccount,
  mailboxId: number,
  connection: PoolConnection,
): Promise<void> {
  const groupDb = mailboxGroupDb(mailboxId, context.mailboxGroups);
  const out = await context.session.createMailboxSqlStream(account.zimbraId);
  out.write(
    dumpHeader(`${account.email} (mailbox ${mailboxId}, ${groupDb}) on ${context.server.settings.hostname}`),
  );
  try {
    await dumpTablesRows(connection, await tablesOf(context, groupDb), mailboxId, out);
    out.end(dumpFooter);
  } catch (error) {
    out.on('error', () => undefined);
    out.destroy(error as Error);
    throw error;
  }
  await out.record;
  await connection.query('COMMIT');
}
