import type { LdifEntry, LdifValue } from '../ldap/ldif';

/**
 * Reads LDIF as engine/ldap/ldif.ts writes it (and ldapadd reads it): folded lines, `name: value`
 * and `name:: base64`; a base64 value that is not UTF-8 text stays bytes.
 */
export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n{2,}/)) {
    const lines = block
      .replace(/\n /g, '')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0) continue;
    let dn: string | null = null;
    const attributes: Record<string, LdifValue[]> = {};
    for (const line of lines) {
      const m = /^([A-Za-z0-9;.-]+)(::?)\s?(.*)$/.exec(line);
      if (!m) throw new Error(`not an LDIF line: ${line.slice(0, 60)}`);
      const [, name, sep, raw] = m as unknown as [string, string, string, string];
      let value: LdifValue = raw;
      if (sep === '::') {
        const bytes = Buffer.from(raw, 'base64');
        const text = bytes.toString('utf8');
        value = Buffer.from(text, 'utf8').equals(bytes) ? text : bytes;
      }
      if (name.toLowerCase() === 'dn') dn = String(value);
      else (attributes[name] ??= []).push(value);
    }
    if (!dn) throw new Error('an LDIF entry without dn');
    entries.push({ dn, attributes });
  }
  return entries;
}

export function attribute(entry: LdifEntry, name: string): LdifValue[] {
  const key = Object.keys(entry.attributes).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? entry.attributes[key]! : [];
}

export function setAttribute(entry: LdifEntry, name: string, values: LdifValue[]): void {
  for (const key of Object.keys(entry.attributes))
    if (key.toLowerCase() === name.toLowerCase()) delete entry.attributes[key];
  if (values.length > 0) entry.attributes[name] = values;
}
