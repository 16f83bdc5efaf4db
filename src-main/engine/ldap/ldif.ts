/**
 * LDIF (RFC 2849) as ldapadd reads it: `name: value` for safe strings, `name:: base64` for
 * anything else (binary values, leading space/colon/'<', non-ASCII, line breaks), lines folded at
 * 76 columns with a leading space on continuations, entries separated by a blank line.
 */
export type LdifValue = string | Buffer;
export interface LdifEntry {
  dn: string;
  attributes: Record<string, LdifValue[]>;
}

const FOLD_AT = 76;

function isSafe(value: string): boolean {
  return !/^[ :<]|[\r\n\0]|[^\x20-\x7e]|\s$/.test(value);
}

function fold(line: string): string {
  if (line.length <= FOLD_AT) return line;
  const parts = [line.slice(0, FOLD_AT)];
  for (let at = FOLD_AT; at < line.length; at += FOLD_AT - 1)
    parts.push(` ${line.slice(at, at + FOLD_AT - 1)}`);
  return parts.join('\n');
}

export function ldifLine(name: string, value: LdifValue): string {
  if (typeof value === 'string' && isSafe(value)) return fold(`${name}: ${value}`);
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return fold(`${name}:: ${bytes.toString('base64')}`);
}

export function entryToLdif(entry: LdifEntry): string {
  const lines = [ldifLine('dn', entry.dn)];
  for (const [name, values] of Object.entries(entry.attributes))
    for (const value of values) lines.push(ldifLine(name, value));
  return `${lines.join('\n')}\n`;
}

export function toLdif(entries: Iterable<LdifEntry>): string {
  return [...entries].map(entryToLdif).join('\n');
}
