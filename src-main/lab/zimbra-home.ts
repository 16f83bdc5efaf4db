import fs from 'node:fs';
import path from 'node:path';
import { formatLocalconfig } from '../engine/server/localconfig';

/**
 * A server's zimbra_home laid out as on a real install (/opt/zimbra): conf/localconfig.xml,
 * store/ (primary message volume), index/ (index volume), redolog/ with archive/, db/data
 * (MariaDB datadir), data/tmp/mysql (its socket), data/ldap (slapd, on the LDAP host), log/.
 */
export interface ZimbraHomeSettings {
  home: string;
  hostname: string;
  address: string;
  mysqlPort: number;
  mysqlPassword: string;
  mysqlRootPassword: string;
  ldapUrl: string;
  ldapPassword: string;
  ldapRootPassword: string;
  ldapIsMaster: boolean;
  mailboxGroups: number;
}

export const homePaths = (home: string) => ({
  conf: path.join(home, 'conf'),
  localconfig: path.join(home, 'conf', 'localconfig.xml'),
  store: path.join(home, 'store'),
  index: path.join(home, 'index'),
  redolog: path.join(home, 'redolog'),
  redoLog: path.join(home, 'redolog', 'redo.log'),
  redoArchive: path.join(home, 'redolog', 'archive'),
  mysqlData: path.join(home, 'db', 'data'),
  mysqlSocket: path.join(home, 'data', 'tmp', 'mysql', 'mysql.sock'),
  ldapData: path.join(home, 'data', 'ldap'),
  log: path.join(home, 'log'),
});

export function createZimbraHome(s: ZimbraHomeSettings): void {
  const p = homePaths(s.home);
  for (const dir of [p.conf, p.store, p.index, p.redoArchive, path.dirname(p.mysqlSocket), p.log])
    fs.mkdirSync(dir, { recursive: true });
  const ldapHostPort = new URL(s.ldapUrl);
  // Keys and spellings as Zimbra writes them; a few use ${} references as real installs do.
  const entries: Array<[string, string]> = [
    ['zimbra_home', s.home],
    ['zimbra_user', 'zimbra'],
    ['zimbra_server_hostname', s.hostname],
    ['zimbra_db_directory', '${zimbra_home}/db'],
    ['zimbra_store_directory', '${zimbra_home}/store'],
    ['zimbra_index_directory', '${zimbra_home}/index'],
    ['zimbra_log_directory', '${zimbra_home}/log'],
    ['zimbra_tmp_directory', '${zimbra_home}/data/tmp'],
    ['zimbra_mysql_user', 'zimbra'],
    ['zimbra_mysql_password', s.mysqlPassword],
    ['mysql_root_password', s.mysqlRootPassword],
    ['mysql_bind_address', s.address],
    ['mysql_port', String(s.mysqlPort)],
    ['mysql_socket', '${zimbra_home}/data/tmp/mysql/mysql.sock'],
    ['mysql_data_directory', '${zimbra_db_directory}/data'],
    ['mysql_mycnf', '${zimbra_home}/conf/my.cnf'],
    ['ldap_url', `${s.ldapUrl}`],
    ['ldap_master_url', `${s.ldapUrl}`],
    ['ldap_host', ldapHostPort.hostname],
    ['ldap_port', ldapHostPort.port],
    ['ldap_is_master', s.ldapIsMaster ? 'true' : 'false'],
    ['ldap_starttls_supported', '0'],
    ['zimbra_ldap_userdn', 'uid=zimbra,cn=admins,cn=zimbra'],
    ['zimbra_ldap_user', 'zimbra'],
    ['zimbra_ldap_password', s.ldapPassword],
    ['ldap_root_password', s.ldapRootPassword],
    ['zimbra_mailbox_groups', String(s.mailboxGroups)],
    ['zimbra_require_interprocess_security', '0'],
    ['ssl_allow_untrusted_certs', 'false'],
    ['backup_archived_redolog_keep_time', '3600'],
  ];
  // Zimbra keeps localconfig.xml readable by root and the zimbra user only: it holds passwords.
  fs.writeFileSync(p.localconfig, formatLocalconfig(entries), { mode: 0o640 });
}
