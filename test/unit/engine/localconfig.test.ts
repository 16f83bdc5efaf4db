import { describe, expect, it } from 'vitest';
import {
  formatLocalconfig,
  LocalconfigError,
  parseLocalconfig,
  serverSettings,
} from '../../../src-main/engine/server/localconfig';

const xml = (keys: Record<string, string>) => formatLocalconfig(Object.entries(keys));

describe('localconfig.xml', () => {
  it('expands ${key} references the way Zimbra does, including chains', () => {
    const lc = parseLocalconfig(
      xml({
        zimbra_home: '/srv/zimbra',
        zimbra_db_directory: '${zimbra_home}/db',
        mysql_data_directory: '${zimbra_db_directory}/data',
      }),
    );
    expect(lc.get('mysql_data_directory')).toBe('/srv/zimbra/db/data');
  });

  it('falls back to Zimbra defaults for keys a server leaves out', () => {
    const lc = parseLocalconfig(xml({ zimbra_home: '/opt/zimbra' }));
    expect(lc.get('mysql_port')).toBe('7306');
    expect(lc.get('mysql_socket')).toBe('/opt/zimbra/data/tmp/mysql/mysql.sock');
    expect(lc.get('backup_archived_redolog_keep_time')).toBe('3600');
  });

  it('round-trips values with XML special characters (passwords)', () => {
    const password = `p<a>&"s's`;
    const lc = parseLocalconfig(xml({ zimbra_mysql_password: password }));
    expect(lc.get('zimbra_mysql_password')).toBe(password);
  });

  it('rejects a reference cycle with the keys named', () => {
    expect(() => parseLocalconfig(xml({ a: '${b}', b: '${a}' }))).toThrow(/a -> b -> a|b -> a -> b/);
  });

  it('rejects a file that is not localconfig', () => {
    expect(() => parseLocalconfig('<config/>')).toThrow(LocalconfigError);
  });

  it('gives the engine its settings and names a missing key', () => {
    const full = {
      zimbra_home: '/opt/zimbra',
      zimbra_server_hostname: 'mail.example.com',
      zimbra_mysql_password: 'x',
      ldap_url: 'ldap://ldap1:389 ldap://ldap2:389',
      zimbra_ldap_password: 'y',
    };
    const s = serverSettings(parseLocalconfig(xml(full)));
    expect(s.mysql).toMatchObject({
      port: 7306,
      user: 'zimbra',
      socket: '/opt/zimbra/data/tmp/mysql/mysql.sock',
    });
    expect(s.ldap.url).toBe('ldap://ldap1:389');
    expect(s.mailboxGroups).toBe(100);
    const { zimbra_ldap_password: _, ...partial } = full;
    expect(() => serverSettings(parseLocalconfig(xml(partial)))).toThrow(/zimbra_ldap_password/);
  });
});
