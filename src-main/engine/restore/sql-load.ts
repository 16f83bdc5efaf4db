import fs from 'node:fs';
import readline from 'node:readline';
import mysql, { type PoolConnection } from 'mysql2/promise';

/**
 * Loads a session's SQL dump (engine/backup/sql-dump.ts writes it) over a mysql2 connection,
 * statement by statement, optionally into another mailbox: every row's mailbox column, and the
 * zimbra.mailbox row's account, group and name, take the new values, and rows of database
 * mboxgroupN go to the new mailbox's group. A mailbox dump's own DELETEs are left out (the caller
 * has deleted the mailbox's rows in every table first); system table dumps run theirs.
 *
 * The dump writes one row per line and strings as mysql.escape does, which escapes every line
 * break: a line that ends with ';' ends a statement, and no string spans lines.
 */
export interface MailboxRemap {
  mailboxId: number;
  groupDb: string;
  accountId: string;
  email: string;
  groupId: number;
}

export interface LoadStats {
  statements: number;
  rows: number;
}

const INSERT_HEAD = /^INSERT INTO `((?:[^`]|``)+)`\.`((?:[^`]|``)+)` \((.*)\) VALUES$/;

/** Splits "(v1, 'a,b', NULL)," into the literal texts of its values. */
export function splitTuple(line: string): string[] {
  let text = line.trim();
  if (text.endsWith(',') || text.endsWith(';')) text = text.slice(0, -1);
  if (!text.startsWith('(') || !text.endsWith(')'))
    throw new Error(`not a row of values: ${line.slice(0, 80)}`);
  const values: string[] = [];
  let start = 1;
  let quote: string | null = null;
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ',') {
      values.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (quote) throw new Error(`unterminated string in row: ${line.slice(0, 80)}`);
  values.push(text.slice(start, text.length - 1).trim());
  return values;
}

const unquoteIdent = (s: string) => s.replaceAll('``', '`');
const ident = (name: string) => `\`${name.replaceAll('`', '``')}\``;

class InsertRemapper {
  private readonly replace = new Map<number, string>();
  readonly head: string;

  constructor(database: string, tableName: string, columnText: string, remap: MailboxRemap) {
    const columns = columnText.split(',').map((c) => unquoteIdent(c.trim().replace(/^`|`$/g, '')));
    const isMailboxRow = database === 'zimbra' && tableName === 'mailbox';
    const set = (column: string, value: string | number) => {
      const at = columns.indexOf(column);
      if (at >= 0) this.replace.set(at, mysql.escape(value));
    };
    if (isMailboxRow) {
      set('id', remap.mailboxId);
      set('account_id', remap.accountId);
      set('comment', remap.email);
      set('group_id', remap.groupId);
    } else set('mailbox_id', remap.mailboxId);
    const db = /^mboxgroup\d+$/.test(database) ? remap.groupDb : database;
    this.head = `INSERT INTO ${ident(db)}.${ident(tableName)} (${columnText}) VALUES`;
  }

  row(line: string): string {
    if (this.replace.size === 0) return line;
    const values = splitTuple(line);
    for (const [at, value] of this.replace) values[at] = value;
    const end = line.trimEnd().endsWith(';') ? ';' : ',';
    return `(${values.join(', ')})${end}`;
  }
}

/** Runs the dump's statements on `connection` (inside the caller's transaction). */
export async function loadSqlDump(
  connection: PoolConnection,
  file: string,
  remap?: MailboxRemap,
  options: { runDeletes?: boolean; signal?: AbortSignal } = {},
): Promise<LoadStats> {
  const stats: LoadStats = { statements: 0, rows: 0 };
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let statement: string[] = [];
  let insert: InsertRemapper | null = null;
  let isInsert = false;
  for await (const line of lines) {
    if (statement.length === 0) {
      if (line.trim() === '' || line.startsWith('-- ')) continue;
      const head = INSERT_HEAD.exec(line);
      if (head) {
        insert = remap
          ? new InsertRemapper(unquoteIdent(head[1]!), unquoteIdent(head[2]!), head[3]!, remap)
          : null;
        isInsert = true;
        statement.push(insert ? insert.head : line);
        continue; // a head line is followed by its rows
      }
      statement.push(line);
    } else {
      statement.push(insert ? insert.row(line) : line);
      if (isInsert) stats.rows++;
    }
    if (!line.trimEnd().endsWith(';')) continue;
    const sql = statement.join('\n');
    statement = [];
    insert = null;
    isInsert = false;
    // Its DELETEs are done already, for every table the mailbox has rows in.
    if (!options.runDeletes && /^DELETE FROM /.test(sql)) continue;
    // The files written beside the load failed: no more statements (the caller rolls back).
    options.signal?.throwIfAborted();
    await connection.query(sql);
    stats.statements++;
  }
  if (statement.length > 0) throw new Error(`${file} ends inside a statement: the dump is truncated`);
  return stats;
}
