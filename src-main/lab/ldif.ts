import crypto from 'node:crypto';
import { toLdif as entriesToLdif } from '../engine/ldap/ldif';

/** The lab's seed entries, written compactly: attribute → value or values. */
export type LdifEntry = { dn: string } & Record<string, string | string[]>;

export function toLdif(entries: LdifEntry[]): string {
  return entriesToLdif(
    entries.map(({ dn, ...rest }) => ({
      dn,
      attributes: Object.fromEntries(
        Object.entries(rest).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
      ),
    })),
  );
}

/** {SSHA} hash as OpenLDAP's slappasswd makes it: base64(SHA1(password + salt) + salt). */
export function sshaHash(password: string): string {
  const salt = crypto.randomBytes(8);
  const digest = crypto.createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
