import { AndFilter, Attribute, Change, EqualityFilter, type Client, type Entry } from 'ldapts';
import type { LdifEntry, LdifValue } from './ldif';

/**
 * What the engine reads and changes in a Zimbra directory: the accounts of one mailbox server,
 * single entries (for the per-account LDIF), the account status (maintenance), the server's own
 * entry, and the whole directory for the session's ldap/ folder.
 */

/** Values that are bytes, not text, in Zimbra's and inetOrgPerson's schema. */
const BINARY_ATTRIBUTES = [
  'jpegPhoto',
  'userCertificate',
  'userSMIMECertificate',
  'userPKCS12',
  'photo',
  'audio',
  'zimbraPrefMailSMIMECertificate',
];

export interface DirectoryAccount {
  dn: string;
  email: string;
  zimbraId: string;
  status: string;
}

function values(entry: Entry, name: string): LdifValue[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as LdifValue[];
}

const first = (entry: Entry, name: string) => String(values(entry, name)[0] ?? '');

export function toLdifEntry(entry: Entry): LdifEntry {
  const attributes: Record<string, LdifValue[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    attributes[name] = (Array.isArray(value) ? value : [value]) as LdifValue[];
  }
  return { dn: entry.dn, attributes };
}

/** Accounts whose mailbox is on `hostname` (zimbraMailHost), calendar resources included. */
export async function accountsOnServer(client: Client, hostname: string): Promise<DirectoryAccount[]> {
  const { searchEntries } = await client.search('', {
    scope: 'sub',
    filter: new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectClass', value: 'zimbraAccount' }),
        new EqualityFilter({ attribute: 'zimbraMailHost', value: hostname }),
      ],
    }),
    attributes: ['zimbraMailDeliveryAddress', 'zimbraId', 'zimbraAccountStatus', 'mail', 'uid'],
    paged: { pageSize: 1000 },
  });
  return searchEntries
    .map((e) => ({
      dn: e.dn,
      email: first(e, 'zimbraMailDeliveryAddress') || first(e, 'mail'),
      zimbraId: first(e, 'zimbraId'),
      status: first(e, 'zimbraAccountStatus') || 'active',
    }))
    .sort((a, b) => a.email.localeCompare(b.email));
}

/** One entry with its user attributes (operational ones are the server's to set on ldapadd). */
export async function readEntry(client: Client, dn: string): Promise<LdifEntry | null> {
  try {
    const { searchEntries } = await client.search(dn, {
      scope: 'base',
      attributes: ['*'],
      explicitBufferAttributes: BINARY_ATTRIBUTES,
    });
    return searchEntries[0] ? toLdifEntry(searchEntries[0]) : null;
  } catch (error) {
    if ((error as { code?: number }).code === 32) return null; // noSuchObject
    throw error;
  }
}

export async function readAccountStatus(client: Client, dn: string): Promise<string | null> {
  const entry = await readEntry(client, dn);
  if (!entry) return null;
  const status = Object.entries(entry.attributes).find(
    ([k]) => k.toLowerCase() === 'zimbraaccountstatus',
  )?.[1][0];
  return status === undefined ? 'active' : String(status);
}

export async function setAccountStatus(client: Client, dn: string, status: string): Promise<void> {
  await client.modify(
    dn,
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'zimbraAccountStatus', values: [status] }),
    }),
  );
}

/** The zimbraServer entry of `hostname`: its zimbraId identifies the server in manifests. */
export async function serverZimbraId(client: Client, hostname: string): Promise<string> {
  const { searchEntries } = await client.search('cn=servers,cn=zimbra', {
    scope: 'one',
    filter: new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectClass', value: 'zimbraServer' }),
        new EqualityFilter({ attribute: 'cn', value: hostname }),
      ],
    }),
    attributes: ['zimbraId'],
  });
  const id = searchEntries[0] ? first(searchEntries[0], 'zimbraId') : '';
  if (!id) throw new Error(`no zimbraServer entry for ${hostname} under cn=servers,cn=zimbra`);
  return id;
}

/**
 * Every entry of the directory, parents before children (the order ldapadd needs): the naming
 * contexts the server announces, each searched whole.
 */
export async function exportDirectory(client: Client): Promise<LdifEntry[]> {
  const { searchEntries: roots } = await client.search('', {
    scope: 'one',
    filter: '(objectClass=*)',
    attributes: ['1.1'],
  });
  const entries: LdifEntry[] = [];
  for (const root of roots) {
    const { searchEntries } = await client.search(root.dn, {
      scope: 'sub',
      filter: '(objectClass=*)',
      attributes: ['*'],
      explicitBufferAttributes: BINARY_ATTRIBUTES,
      paged: { pageSize: 1000 },
    });
    entries.push(...searchEntries.map(toLdifEntry));
  }
  const depth = (dn: string) => (dn === '' ? 0 : dn.split(/(?<!\\),/).length);
  return entries.sort((a, b) => depth(a.dn) - depth(b.dn) || a.dn.localeCompare(b.dn));
}
