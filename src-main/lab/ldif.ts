import crypto from 'node:crypto';

/** LDIF helpers for the lab's own seed data (entries we write, not ones we parse). */
export type LdifEntry = { dn: string } & Record<string, string | string[]>;

function needsBase64(value: string): boolean {
  // RFC 2849: SAFE-STRING may not start with space, colon or '<', nor hold CR, LF, NUL or non-ASCII.
  return /^[ :<]|[\r\n\0]|[^\x20-\x7e]|\s$/.test(value);
}

export function ldifLine(name: string, value: string): string {
  return needsBase64(value) ? `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}` : `${name}: ${value}`;
}

export function toLdif(entries: LdifEntry[]): string {
  return entries
    .map((entry) => {
      const lines = [ldifLine('dn', entry.dn)];
      for (const [name, value] of Object.entries(entry)) {
        if (name === 'dn') continue;
        for (const v of Array.isArray(value) ? value : [value]) lines.push(ldifLine(name, v));
      }
      return lines.join('\n') + '\n';
    })
    .join('\n');
}

/** {SSHA} hash as OpenLDAP's slappasswd makes it: base64(SHA1(password + salt) + salt). */
export function sshaHash(password: string): string {
  const salt = crypto.randomBytes(8);
  const digest = crypto.createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
