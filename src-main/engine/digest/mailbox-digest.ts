import type { Pool, RowDataPacket } from 'mysql2/promise';
import { mailboxGroupDb } from '../server/volumes';
import { canonicalValue, sha256 } from './canonical';
import { fileTreeDigest } from './file-tree';
import { discoverMailboxTables, type MailboxTable } from './mailbox-tables';

/**
 * A mailbox reduced to what a restore must reproduce: its rows in every table that holds them
 * (found from information_schema), the bytes of its blobs, its index files and its account's LDAP
 * attributes. Two digests compare equal iff a restore was faithful; `diffDigests` says where not.
 */
export interface MailboxDigest {
  mailboxId: number;
  accountId: string;
  /** "db.table" → primary key text → canonical row (column → value). */
  rows: Record<string, Record<string, Record<string, string | null>>>;
  /** Path relative to the mailbox directory on its volume → SHA-256 of the bytes. */
  blobs: Record<string, string>;
  index: Record<string, string>;
  ldap: Record<string, string[]>;
  /** SHA-256 over all of the above, canonically ordered. */
  digest: string;
}

export interface DigestOptions {
  /** Columns left out ("db.table.column" or "table.column"), e.g. bookkeeping that changes on backup. */
  ignoreColumns?: string[];
  /** LDAP attributes left out (compared case-insensitively). */
  ignoreAttributes?: string[];
  /** Compare as if the mailbox had this id / the account this zimbraId (restore into a new account). */
  normalizeIds?: boolean;
}

export interface DigestSources {
  db: Pool;
  mailboxGroups: number;
  /** Directories of the mailbox on each message volume, and its index directory. */
  blobRoots: string[];
  indexRoot: string;
  /** The account's LDAP attributes (name → values), read by the caller. */
  ldap: Record<string, string[]>;
}

/** Default volatile columns: NE updates last_backup_at after every backup of the mailbox. */
const ALWAYS_IGNORED = ['mailbox.last_backup_at'];
const IGNORED_LDAP = ['zimbraaccountstatus'];

async function tableRows(
  db: Pool,
  table: MailboxTable,
  mailboxId: number,
  ignored: Set<string>,
  normalize: { mailboxId?: number; accountId?: string },
): Promise<Record<string, Record<string, string | null>>> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT * FROM \`${table.database}\`.\`${table.name}\` WHERE \`${table.mailboxColumn}\` = ?`,
    [mailboxId],
  );
  const out: Record<string, Record<string, string | null>> = {};
  for (const row of rows) {
    const values: Record<string, string | null> = {};
    for (const column of Object.keys(row).sort()) {
      let value = canonicalValue(row[column]);
      if (normalize.mailboxId !== undefined && column === table.mailboxColumn) value = 'MAILBOX';
      if (normalize.accountId !== undefined && value === normalize.accountId) value = 'ACCOUNT';
      values[column] = value;
    }
    const key = table.keyColumns.map((c) => values[c] ?? '∅').join('|');
    for (const column of Object.keys(values))
      if (ignored.has(`${table.database}.${table.name}.${column}`) || ignored.has(`${table.name}.${column}`))
        delete values[column];
    out[key] = values;
  }
  return out;
}

export async function mailboxDigest(
  sources: DigestSources,
  mailboxId: number,
  options: DigestOptions = {},
): Promise<MailboxDigest> {
  const [mailboxRows] = await sources.db.query<RowDataPacket[]>(
    'SELECT account_id FROM zimbra.mailbox WHERE id = ?',
    [mailboxId],
  );
  const accountId = String(mailboxRows[0]?.account_id ?? '');
  if (!accountId) throw new Error(`mailbox ${mailboxId} does not exist`);
  const ignored = new Set([...ALWAYS_IGNORED, ...(options.ignoreColumns ?? [])]);
  const normalize = options.normalizeIds ? { mailboxId, accountId } : {};
  const tables = await discoverMailboxTables(sources.db, mailboxGroupDb(mailboxId, sources.mailboxGroups));
  const rows: MailboxDigest['rows'] = {};
  for (const table of tables) {
    const found = await tableRows(sources.db, table, mailboxId, ignored, normalize);
    if (Object.keys(found).length > 0) rows[`${table.database}.${table.name}`] = found;
  }
  const blobs: Record<string, string> = {};
  for (const root of sources.blobRoots) Object.assign(blobs, await fileTreeDigest(root));
  const index = await fileTreeDigest(sources.indexRoot, (name) => name !== 'write.lock');
  const ignoredAttributes = new Set([
    ...IGNORED_LDAP,
    ...(options.ignoreAttributes ?? []).map((a) => a.toLowerCase()),
  ]);
  const ldap: Record<string, string[]> = {};
  for (const name of Object.keys(sources.ldap).sort()) {
    if (ignoredAttributes.has(name.toLowerCase())) continue;
    if (
      options.normalizeIds &&
      ['zimbraid', 'uid', 'mail', 'cn', 'zimbramaildeliveryaddress'].includes(name.toLowerCase())
    )
      continue;
    ldap[name] = [...(sources.ldap[name] ?? [])].sort();
  }
  const digest = sha256(JSON.stringify([sortedObject(rows), sortedObject(blobs), sortedObject(index), ldap]));
  return { mailboxId, accountId, rows, blobs, index, ldap, digest };
}

function sortedObject<T>(o: Record<string, T>): Array<[string, T]> {
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k] as T]);
}

/** Human-readable differences between two digests (empty when equal), at most `limit` lines. */
export function diffDigests(expected: MailboxDigest, actual: MailboxDigest, limit = 50): string[] {
  const lines: string[] = [];
  const push = (line: string) => lines.length < limit && lines.push(line);
  const tables = new Set([...Object.keys(expected.rows), ...Object.keys(actual.rows)]);
  for (const table of [...tables].sort()) {
    const a = expected.rows[table] ?? {};
    const b = actual.rows[table] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const ra = a[key];
      const rb = b[key];
      if (!rb) push(`${table} row (${key}) missing`);
      else if (!ra) push(`${table} row (${key}) unexpected`);
      else
        for (const column of new Set([...Object.keys(ra), ...Object.keys(rb)]))
          if (ra[column] !== rb[column])
            push(`${table} row (${key}) ${column}: ${short(ra[column])} → ${short(rb[column])}`);
    }
  }
  for (const [kind, a, b] of [
    ['blob', expected.blobs, actual.blobs],
    ['index file', expected.index, actual.index],
  ] as const)
    for (const file of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!(file in b)) push(`${kind} ${file} missing`);
      else if (!(file in a)) push(`${kind} ${file} unexpected`);
      else if (a[file] !== b[file]) push(`${kind} ${file} differs`);
    }
  for (const name of [...new Set([...Object.keys(expected.ldap), ...Object.keys(actual.ldap)])].sort()) {
    const va = JSON.stringify(expected.ldap[name] ?? null);
    const vb = JSON.stringify(actual.ldap[name] ?? null);
    if (va !== vb) push(`ldap ${name}: ${short(va)} → ${short(vb)}`);
  }
  return lines;
}

function short(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  return value.length > 60 ? `${value.slice(0, 57)}…` : value;
}
