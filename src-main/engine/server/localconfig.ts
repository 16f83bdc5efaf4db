import { XMLParser } from 'fast-xml-parser';

/**
 * Zimbra's conf/localconfig.xml: `<localconfig><key name="K"><value>V</value></key>…</localconfig>`.
 * Values may refer to other keys as ${key} (zimbra_db_directory = ${zimbra_home}/db); we expand
 * them as LocalConfig.java does, and fall back to Zimbra's defaults for keys a server leaves out.
 */
export type Localconfig = ReadonlyMap<string, string>;

export class LocalconfigError extends Error {}

/** Defaults from Zimbra's LC.java and the NE backup's BackupLC, for keys we read. */
const DEFAULTS: Record<string, string> = {
  zimbra_home: '/opt/zimbra',
  zimbra_mysql_user: 'zimbra',
  mysql_port: '7306',
  mysql_socket: '${zimbra_home}/data/tmp/mysql/mysql.sock',
  zimbra_ldap_userdn: 'uid=zimbra,cn=admins,cn=zimbra',
  zimbra_mailbox_groups: '100',
  backup_archived_redolog_keep_time: '3600',
};

export function parseLocalconfig(xml: string): Localconfig {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => name === 'key',
  });
  let doc: { localconfig?: { key?: Array<{ '@name'?: string; value?: unknown }> } | string };
  try {
    doc = parser.parse(xml, true) as typeof doc;
  } catch (error) {
    throw new LocalconfigError(`localconfig.xml is not valid XML: ${(error as Error).message}`);
  }
  if (doc.localconfig === undefined)
    throw new LocalconfigError('localconfig.xml has no <localconfig> root element');
  const raw = new Map<string, string>();
  const keys = typeof doc.localconfig === 'object' ? (doc.localconfig.key ?? []) : [];
  for (const key of keys) {
    const name = key['@name'];
    if (!name) continue;
    raw.set(name, typeof key.value === 'string' ? key.value : key.value == null ? '' : String(key.value));
  }
  for (const [name, value] of Object.entries(DEFAULTS)) if (!raw.has(name)) raw.set(name, value);
  return expandReferences(raw);
}

function expandReferences(raw: Map<string, string>): Localconfig {
  const done = new Map<string, string>();
  const expand = (name: string, trail: string[]): string => {
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    if (trail.includes(name))
      throw new LocalconfigError(
        `localconfig key ${name} refers to itself: ${[...trail, name].join(' -> ')}`,
      );
    const value = (raw.get(name) ?? '').replace(/\$\{([^}]+)\}/g, (_, ref: string) =>
      raw.has(ref) ? expand(ref, [...trail, name]) : '',
    );
    done.set(name, value);
    return value;
  };
  for (const name of raw.keys()) expand(name, []);
  return done;
}

/** Writes a localconfig.xml the way zmlocalconfig does (one <key> per entry, XML-escaped). */
export function formatLocalconfig(entries: Iterable<[string, string]>): string {
  const escape = (s: string) =>
    s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
  const keys = [...entries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `  <key name="${escape(name)}">\n    <value>${escape(value)}</value>\n  </key>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n\n<localconfig>\n${keys.join('\n')}\n</localconfig>\n`;
}

export interface ServerSettings {
  zimbraHome: string;
  hostname: string;
  mysql: { socket: string; port: number; host: string; user: string; password: string };
  ldap: { url: string; bindDn: string; password: string };
  mailboxGroups: number;
  archivedRedologKeepTimeSec: number;
}

function integer(lc: Localconfig, key: string): number {
  const value = Number(lc.get(key));
  if (!Number.isInteger(value) || value < 0)
    throw new LocalconfigError(`localconfig key ${key} is not a number: ${lc.get(key)}`);
  return value;
}

/** mboxgroup1..N: a 0 would make every group name mboxgroupNaN, a huge N is a lie. */
function mailboxGroups(lc: Localconfig): number {
  const groups = integer(lc, 'zimbra_mailbox_groups');
  if (groups < 1 || groups > 10_000)
    throw new LocalconfigError(`localconfig key zimbra_mailbox_groups is ${groups}, not 1 to 10000`);
  return groups;
}

/** The settings the engine needs, from a parsed localconfig. */
export function serverSettings(lc: Localconfig): ServerSettings {
  const required = (key: string) => {
    const value = lc.get(key);
    if (!value) throw new LocalconfigError(`localconfig.xml has no value for ${key}`);
    return value;
  };
  // ldap_url may list several servers separated by spaces (replicas); the first is the master here.
  const ldapUrl = (lc.get('ldap_master_url') || required('ldap_url')).split(/\s+/)[0] ?? '';
  return {
    zimbraHome: required('zimbra_home'),
    hostname: required('zimbra_server_hostname'),
    mysql: {
      socket: required('mysql_socket'),
      port: integer(lc, 'mysql_port'),
      host: lc.get('mysql_bind_address') || '127.0.0.1',
      user: required('zimbra_mysql_user'),
      password: required('zimbra_mysql_password'),
    },
    ldap: {
      url: ldapUrl,
      bindDn: required('zimbra_ldap_userdn'),
      password: required('zimbra_ldap_password'),
    },
    mailboxGroups: mailboxGroups(lc),
    archivedRedologKeepTimeSec: integer(lc, 'backup_archived_redolog_keep_time'),
  };
}
