import fs from 'node:fs';
import readline from 'node:readline';

/**
 * Reads rows back out of a session's mailbox.sql, as engine/backup/sql-dump.ts writes it:
 *
 *   INSERT INTO `mboxgroup3`.`mail_item` (`mailbox_id`, `id`, …) VALUES
 *   (7, 257, 5, …),
 *   (7, 258, 5, …);
 *
 * one row per line (mysql2's escape turns newlines inside strings into `\n`, so a line never
 * splits a value). Values are NULL, numbers (big ones quoted), 'strings' with backslash escapes,
 * X'hex' for binary columns, true/false. Only the tables asked for are decoded; the others'
 * lines are skipped unread.
 */
export type SqlValue = string | null;

export interface DumpRow {
  table: string;
  row: Record<string, SqlValue>;
}

const INSERT = /^INSERT INTO `((?:[^`]|``)+)`\.`((?:[^`]|``)+)` \((.*)\) VALUES$/;
const ESCAPES: Record<string, string> = { '0': '\0', b: '\b', t: '\t', n: '\n', r: '\r', Z: '\x1a' };

export class DumpFormatError extends Error {}

/** The values of one row tuple, `(…)` with its trailing `,` or `;`. */
export function parseTuple(line: string): SqlValue[] {
  const values: SqlValue[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new DumpFormatError(`${what} at column ${i + 1} of: ${line.slice(0, 80)}`);
  };
  if (line[i] !== '(') fail('a row must start with "("');
  i++;
  for (;;) {
    while (line[i] === ' ') i++;
    const c = line[i];
    if (c === "'" || ((c === 'X' || c === 'x') && line[i + 1] === "'")) {
      const hex = c !== "'";
      i += hex ? 2 : 1;
      let out = '';
      let from = i;
      for (;;) {
        const ch = line[i];
        if (ch === undefined) fail('unterminated string');
        if (ch === '\\') {
          out += line.slice(from, i);
          const next = line[i + 1];
          if (next === undefined) fail('unterminated escape');
          out += ESCAPES[next!] ?? next;
          i += 2;
          from = i;
        } else if (ch === "'") {
          if (line[i + 1] === "'") {
            out += `${line.slice(from, i)}'`;
            i += 2;
            from = i;
            continue;
          }
          out += line.slice(from, i);
          i++;
          break;
        } else i++;
      }
      values.push(hex ? Buffer.from(out, 'hex').toString('latin1') : out);
    } else {
      const end = line.slice(i).search(/[,)]/);
      if (end < 0) fail('unterminated value');
      const word = line.slice(i, i + end).trim();
      if (word === 'NULL') values.push(null);
      else if (word === 'true') values.push('1');
      else if (word === 'false') values.push('0');
      else if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(word)) values.push(word);
      else fail(`unexpected value "${word}"`);
      i += end;
    }
    while (line[i] === ' ') i++;
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (line[i] === ')') {
      i++;
      break;
    }
    fail('expected "," or ")"');
  }
  const tail = line.slice(i);
  if (tail !== ',' && tail !== ';') fail('a row must end with "," or ";"');
  return values;
}

const unquote = (name: string) => name.replaceAll('``', '`');

/** Rows of the named tables (by table name, any database), in the file's order. */
export async function* readDumpRows(file: string, tables: ReadonlySet<string>): AsyncGenerator<DumpRow> {
  const lines = readline.createInterface({
    input: fs.createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let table: string | null = null;
  let columns: string[] = [];
  for await (const line of lines) {
    if (line.startsWith('INSERT INTO ')) {
      const m = INSERT.exec(line);
      if (!m) throw new DumpFormatError(`not an INSERT this dump writes: ${line.slice(0, 80)}`);
      const name = unquote(m[2]!);
      table = tables.has(name) ? name : null;
      columns = table ? m[3]!.split(', ').map((c) => unquote(c.replace(/^`|`$/g, ''))) : [];
      continue;
    }
    if (!line.startsWith('(')) {
      table = null;
      continue;
    }
    if (table === null) continue;
    const values = parseTuple(line);
    if (values.length !== columns.length)
      throw new DumpFormatError(`${table}: a row has ${values.length} values for ${columns.length} columns`);
    const row: Record<string, SqlValue> = {};
    columns.forEach((c, k) => (row[c] = values[k]!));
    yield { table, row };
  }
}
