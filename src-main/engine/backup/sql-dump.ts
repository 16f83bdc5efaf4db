import { Readable, type Writable } from 'node:stream';
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

/**
 * Several tables' rows of one mailbox, in one round trip: the SELECTs go as one multi-statement
 * query (the connection must allow them, see server-access.ts) and each result set is written
 * as one table's rows were written before, in the same order. Over SSH a query costs a round trip
 * through the link and a packet each way on the engine's busy main thread; a mailbox has ~27
 * tables (bench/full-backup.ts, 100 × 500 over SSH: 27 round trips were most of an account's
 * ~80 ms of rows).
 */
export async function dumpTablesRows(
  connection: PoolConnection,
  tables: MailboxTable[],
  mailboxId: number,
  out: Writable,
): Promise<number> {
  if (tables.length === 0) return 0;
  // Written into the SQL (one text for all the statements): an integer, nothing else.
  if (!Number.isSafeInteger(mailboxId)) throw new Error(`mailbox id ${mailboxId} is not an integer`);
  const id = mailboxId;
  const sql = tables
    .map(
      (table) =>
        `SELECT * FROM ${ident(table.database)}.${ident(table.name)} WHERE ${ident(table.mailboxColumn)} = ${id} ORDER BY ${table.keyColumns.map(ident).join(', ')}`,
    )
    .join(';\n');
  let count = 0;
  let at = -1;
  let inserts: InsertWriter | null = null;
  for await (const event of resultSets(connection, sql)) {
    if (event.kind === 'fields') {
      await inserts?.flush();
      at++;
      const table = tables[at];
      if (!table) throw new Error(`MariaDB sent more result sets than the ${tables.length} tables asked for`);
      const qualified = `${ident(table.database)}.${ident(table.name)}`;
      await write(out, `DELETE FROM ${qualified} WHERE ${ident(table.mailboxColumn)} = ${id};\n`);
      inserts = new InsertWriter(qualified, out);
    } else {
      await inserts!.add(event.row);
      count++;
    }
  }
  await inserts?.flush();
  if (at !== tables.length - 1)
    throw new Error(`MariaDB sent ${at + 1} result sets for ${tables.length} tables`);
  return count;
}

type ResultEvent = { kind: 'fields' } | { kind: 'row'; row: Record<string, unknown> };

/** A multi-statement query's result sets, each announced by its fields, rows streamed with backpressure. */
function resultSets(connection: PoolConnection, sql: string): AsyncIterable<ResultEvent> {
  const raw = connection.connection as unknown as CallbackConnection;
  const stream = new Readable({ objectMode: true, highWaterMark: 256, read: () => raw.resume() });
  const query = raw.query({
    sql,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    typeCast: true,
  });
  query.on('fields', (fields?: unknown) => {
    // An OK packet (a statement without a result set) also emits 'fields', without any.
    if (fields !== undefined && !stream.push({ kind: 'fields' })) raw.pause();
  });
  query.on('result', (row: unknown) => {
    if (!stream.push({ kind: 'row', row })) raw.pause();
  });
  query.on('error', (error: Error) => stream.destroy(error));
  query.on('end', () => stream.push(null));
  return stream;
}

/** One table's multi-row INSERTs, at most MAX_STATEMENT bytes each, in the order the rows come. */
class InsertWriter {
  private columns: string | undefined;
  private statement = '';

  constructor(
    private readonly qualified: string,
    private readonly out: Writable,
  ) {}

  async add(row: Record<string, unknown>): Promise<void> {
    this.columns ??= Object.keys(row).map(ident).join(', ');
    const values = `(${Object.values(row)
      .map((v) => mysql.escape(v as never))
      .join(', ')})`;
    if (this.statement && this.statement.length + values.length > MAX_STATEMENT) await this.flush();
    this.statement = this.statement
      ? `${this.statement},\n${values}`
      : `INSERT INTO ${this.qualified} (${this.columns}) VALUES\n${values}`;
  }

  async flush(): Promise<void> {
    if (this.statement) await write(this.out, `${this.statement};\n`);
    this.statement = '';
  }
}

/** Multi-row INSERTs of at most MAX_STATEMENT bytes each, in the order the rows come. */
async function writeInserts(
  rows: AsyncIterable<Record<string, unknown>>,
  qualified: string,
  out: Writable,
): Promise<number> {
  const inserts = new InsertWriter(qualified, out);
  let count = 0;
  for await (const row of rows) {
    await inserts.add(row);
    count++;
  }
  await inserts.flush();
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
