import type { Writable } from 'node:stream';
import type { Connection as CallbackConnection } from 'mysql2';
import mysql, { type PoolConnection } from 'mysql2/promise';
import type { MailboxTable } from '../digest/mailbox-tables';

/**
 * Writes a mailbox's rows as SQL the stock `mariadb` client loads: for each table, the rows are
 * deleted and re-inserted in multi-row INSERTs, with foreign key checks off during the load as
 * Zimbra's own restore does. Rows stream from the server; nothing holds the mailbox in memory.
 *
 * Call inside a consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) so that every
 * table shows the same instant.
 */
export interface DumpStats {
  rows: number;
  tables: number;
}

const ident = (name: string) => `\`${name.replaceAll('`', '``')}\``;
/** Longest INSERT we write: well under the client's default max_allowed_packet (16 MiB). */
const MAX_STATEMENT = 1024 * 1024;

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

export function dumpHeader(description: string): string {
  return [
    `-- Mailvault mailbox dump: ${description}`,
    '-- Load with: mariadb < this file',
    '/*!40101 SET NAMES utf8mb4 */;',
    'SET @OLD_FOREIGN_KEY_CHECKS = @@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS = 0;',
    "SET @OLD_SQL_MODE = @@SQL_MODE, SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';",
    '',
  ].join('\n');
}

export const dumpFooter =
  'SET FOREIGN_KEY_CHECKS = @OLD_FOREIGN_KEY_CHECKS;\nSET SQL_MODE = @OLD_SQL_MODE;\n';

/** One table's rows of one mailbox. `mailboxId` is written as it is; remapping is the loader's job. */
export async function dumpTableRows(
  connection: PoolConnection,
  table: MailboxTable,
  mailboxId: number,
  out: Writable,
): Promise<number> {
  const qualified = `${ident(table.database)}.${ident(table.name)}`;
  await write(out, `DELETE FROM ${qualified} WHERE ${ident(table.mailboxColumn)} = ${mailboxId};\n`);
  const order = table.keyColumns.map(ident).join(', ');
  // The promise API has no row streaming; its underlying callback connection does.
  const stream = (connection.connection as unknown as CallbackConnection)
    .query({
      sql: `SELECT * FROM ${qualified} WHERE ${ident(table.mailboxColumn)} = ? ORDER BY ${order}`,
      values: [mailboxId],
      // Exact values: dates as the server prints them, big integers as text.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      typeCast: true,
    })
    .stream();
  return writeInserts(stream as AsyncIterable<Record<string, unknown>>, qualified, out);
}

/** Multi-row INSERTs of at most MAX_STATEMENT bytes each, in the order the rows come. */
async function writeInserts(
  rows: AsyncIterable<Record<string, unknown>>,
  qualified: string,
  out: Writable,
): Promise<number> {
  let columns: string | undefined;
  let statement = '';
  let count = 0;
  const flush = async () => {
    if (statement) await write(out, `${statement};\n`);
    statement = '';
  };
  for await (const row of rows) {
    if (!columns) columns = Object.keys(row).map(ident).join(', ');
    const values = `(${Object.values(row)
      .map((v) => mysql.escape(v as never))
      .join(', ')})`;
    if (statement && statement.length + values.length > MAX_STATEMENT) await flush();
    statement = statement
      ? `${statement},\n${values}`
      : `INSERT INTO ${qualified} (${columns}) VALUES\n${values}`;
    count++;
  }
  await flush();
  return count;
}

/** Every row of a table (system tables of database zimbra): DELETE all, then INSERT. */
export async function dumpWholeTable(
  connection: PoolConnection,
  database: string,
  name: string,
  keyColumns: string[],
  out: Writable,
): Promise<number> {
  const qualified = `${ident(database)}.${ident(name)}`;
  await write(out, `DELETE FROM ${qualified};\n`);
  const order = keyColumns.length > 0 ? ` ORDER BY ${keyColumns.map(ident).join(', ')}` : '';
  const stream = (connection.connection as unknown as CallbackConnection)
    .query({
      sql: `SELECT * FROM ${qualified}${order}`,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    })
    .stream();
  return writeInserts(stream as AsyncIterable<Record<string, unknown>>, qualified, out);
}
