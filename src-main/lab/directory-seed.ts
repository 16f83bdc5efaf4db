import crypto from 'node:crypto';
import type { LdifEntry } from './ldif';
import { sshaHash } from './ldif';

/**
 * The base directory a Zimbra install creates: the cn=zimbra config branch (admins, cos, servers,
 * global config …), the admin bind user, the default COS, one entry per mail server, and the mail
 * domain with its ou=people.
 */
export interface DirectorySeed {
  domain: string;
  adminPassword: string;
  servers: Array<{ hostname: string; zimbraId: string }>;
}

export const ADMIN_DN = 'uid=zimbra,cn=admins,cn=zimbra';
export const DEFAULT_COS_ID = 'e00428a1-0c00-11d9-836a-000d93afea2a';

export function domainDn(domain: string): string {
  return domain
    .split('.')
    .map((part) => `dc=${part}`)
    .join(',');
}

const container = (dn: string, cn: string): LdifEntry => ({ dn, objectClass: 'organizationalRole', cn });
const generalizedTime = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export function baseDirectory(seed: DirectorySeed): LdifEntry[] {
  const entries: LdifEntry[] = [
    { ...container('cn=zimbra', 'zimbra'), description: 'Zimbra Systems Application Data' },
    container('cn=admins,cn=zimbra', 'admins'),
    {
      dn: ADMIN_DN,
      objectClass: ['organizationalPerson', 'zimbraAccount'],
      uid: 'zimbra',
      cn: 'zimbra',
      sn: 'zimbra',
      description: 'The zimbra admin account',
      zimbraId: 'e0fafd89-1360-11d9-8661-000a95d98ef2',
      zimbraAccountStatus: 'active',
      zimbraIsSystemResource: 'TRUE',
      zimbraIsAdminAccount: 'TRUE',
      zimbraHideInGal: 'TRUE',
      userPassword: sshaHash(seed.adminPassword),
    },
    container('cn=cos,cn=zimbra', 'cos'),
    {
      dn: 'cn=default,cn=cos,cn=zimbra',
      objectClass: 'zimbraCOS',
      cn: 'default',
      description: 'The default COS',
      zimbraId: DEFAULT_COS_ID,
      zimbraMailQuota: '0',
    },
    container('cn=servers,cn=zimbra', 'servers'),
    container('cn=groups,cn=zimbra', 'groups'),
    container('cn=mime,cn=zimbra', 'mime'),
    container('cn=zimlets,cn=zimbra', 'zimlets'),
    {
      dn: 'cn=config,cn=zimbra',
      objectClass: ['organizationalRole', 'zimbraGlobalConfig'],
      cn: 'config',
      description: 'Global Zimbra configuration',
      zimbraDefaultDomainName: seed.domain,
      // Zimbra's default; the engine must notice it and warn before relying on archived logs.
      zimbraRedoLogDeleteOnRollover: 'TRUE',
    },
  ];
  for (const server of seed.servers) {
    entries.push({
      dn: `cn=${server.hostname},cn=servers,cn=zimbra`,
      objectClass: 'zimbraServer',
      cn: server.hostname,
      zimbraId: server.zimbraId,
      zimbraServiceHostname: server.hostname,
      zimbraServiceInstalled: ['mailbox', 'ldap', 'mta'],
      zimbraServiceEnabled: ['mailbox', 'ldap', 'mta'],
      zimbraRedoLogDeleteOnRollover: 'FALSE',
    });
  }
  const parts = seed.domain.split('.');
  for (let i = parts.length - 1; i >= 0; i--) {
    const name = parts.slice(i).join('.');
    const isDomain = i === 0;
    entries.push({
      dn: domainDn(name),
      objectClass: isDomain
        ? ['dcObject', 'organization', 'zimbraDomain', 'amavisAccount']
        : ['dcObject', 'organization'],
      dc: parts[i] ?? '',
      o: isDomain ? `${name} domain` : name,
      ...(isDomain
        ? {
            zimbraDomainName: name,
            zimbraId: crypto.randomUUID(),
            zimbraDomainStatus: 'active',
            zimbraDomainType: 'local',
            zimbraCreateTimestamp: generalizedTime(new Date()),
          }
        : {}),
    });
  }
  entries.push({ dn: `ou=people,${domainDn(seed.domain)}`, objectClass: 'organizationalUnit', ou: 'people' });
  return entries;
}
