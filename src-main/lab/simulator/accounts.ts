import { Client } from 'ldapts';
import type { LdifEntry } from '../ldif';
import { sshaHash } from '../ldif';
import { DEFAULT_COS_ID, domainDn } from '../directory-seed';

/** The LDAP side of accounts, as `zmprov ca` writes them and mailboxd reads them. */
export const accountDn = (email: string) => {
  const [local, domain] = email.split('@') as [string, string];
  return `uid=${local},ou=people,${domainDn(domain)}`;
};

const generalizedTime = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export function accountEntry(email: string, zimbraId: string, mailHost: string, password: string): LdifEntry {
  const local = email.split('@')[0]!;
  const display = local.replace(/[._-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
  return {
    dn: accountDn(email),
    objectClass: ['inetOrgPerson', 'zimbraAccount', 'amavisAccount'],
    uid: local,
    cn: display,
    sn: display.split(' ').pop() ?? local,
    displayName: display,
    mail: email,
    zimbraId,
    zimbraMailHost: mailHost,
    zimbraMailDeliveryAddress: email,
    zimbraMailTransport: `lmtp:${mailHost}:7025`,
    zimbraAccountStatus: 'active',
    zimbraMailStatus: 'enabled',
    zimbraCOSId: DEFAULT_COS_ID,
    zimbraCreateTimestamp: generalizedTime(new Date()),
    zimbraPasswordModifiedTime: generalizedTime(new Date()),
    zimbraPrefFromDisplay: display,
    zimbraPrefIdentityName: 'DEFAULT',
    userPassword: sshaHash(password),
  };
}

export async function addEntry(client: Client, entry: LdifEntry): Promise<void> {
  const { dn, ...attributes } = entry;
  await client.add(dn, attributes);
}

export async function accountStatus(client: Client, email: string): Promise<string> {
  const { searchEntries } = await client.search(accountDn(email), {
    scope: 'base',
    attributes: ['zimbraAccountStatus'],
  });
  return String(searchEntries[0]?.zimbraAccountStatus ?? 'missing');
}

export async function setAccountStatus(client: Client, email: string, status: string): Promise<void> {
  const { Attribute, Change } = await import('ldapts');
  await client.modify(
    accountDn(email),
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'zimbraAccountStatus', values: [status] }),
    }),
  );
}

/** Accounts whose mailbox lives on `hostname` (zimbraMailHost), with their ids. */
export async function accountsOnServer(
  client: Client,
  baseDn: string,
  hostname: string,
): Promise<Array<{ email: string; zimbraId: string }>> {
  const { searchEntries } = await client.search(baseDn, {
    scope: 'sub',
    filter: `(&(objectClass=zimbraAccount)(zimbraMailHost=${hostname.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}))`,
    attributes: ['zimbraMailDeliveryAddress', 'zimbraId'],
  });
  return searchEntries.map((e) => ({
    email: String(e.zimbraMailDeliveryAddress),
    zimbraId: String(e.zimbraId),
  }));
}
