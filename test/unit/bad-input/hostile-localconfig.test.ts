import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLocalconfig, parseLocalconfig } from '../../../src-main/engine/server/localconfig';
import { openServerAccess } from '../../../src-main/engine/server/server-access';
import { openTransport } from '../../../src-main/engine/transport';
import { tempDir } from '../target/fixtures';
import { runCli, snapshotTree } from './cli-harness';

/**
 * Issue 9, a malformed or lying localconfig.xml: the engine finds MariaDB and LDAP from it, so
 * each of these must fail with one clear error naming what is wrong, quickly (no entity
 * expansion, no waiting on a socket that is not one), without reading files the XML points at,
 * and without the passwords it holds in any message. Through the CLI: exit 1 (the server's
 * fault, not the command's), one line, and the target untouched.
 */
const DB_PASSWORD = 'Db-Pa55word-7731';
const LDAP_PASSWORD = 'Ldap-Pa55word-1189';
let root: string;
let home: string;
let target: string;

function goodEntries(over: Record<string, string | undefined> = {}): Array<[string, string]> {
  const base: Record<string, string | undefined> = {
    zimbra_home: home,
    zimbra_server_hostname: 'mail.example.com',
    zimbra_mysql_password: DB_PASSWORD,
    zimbra_ldap_password: LDAP_PASSWORD,
    ldap_url: 'ldap://127.0.0.1:1',
    mysql_socket: path.join(home, 'no-such.sock'),
    ...over,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined);
}

const cases: Array<[string, () => string, RegExp]> = [
  ['not XML', () => 'this is <<< not xml', /localconfig/i],
  ['an empty file', () => '', /localconfig/i],
  [
    'another root element',
    () => '<config><key name="a"><value>b</value></key></config>',
    /no <localconfig> root/,
  ],
  [
    'no database password',
    () => formatLocalconfig(goodEntries({ zimbra_mysql_password: undefined })),
    /zimbra_mysql_password/,
  ],
  [
    'an empty LDAP password',
    () => formatLocalconfig(goodEntries({ zimbra_ldap_password: '' })),
    /zimbra_ldap_password/,
  ],
  [
    'no server host name',
    () => formatLocalconfig(goodEntries({ zimbra_server_hostname: undefined })),
    /zimbra_server_hostname/,
  ],
  ['a port that is not a number', () => formatLocalconfig(goodEntries({ mysql_port: '73o6' })), /mysql_port/],
  [
    'zero mailbox groups',
    () => formatLocalconfig(goodEntries({ zimbra_mailbox_groups: '0' })),
    /zimbra_mailbox_groups/,
  ],
  [
    'a billion mailbox groups',
    () => formatLocalconfig(goodEntries({ zimbra_mailbox_groups: '1e9' })),
    /zimbra_mailbox_groups/,
  ],
  [
    'a negative keep time',
    () => formatLocalconfig(goodEntries({ backup_archived_redolog_keep_time: '-1' })),
    /keep_time/,
  ],
  [
    'a reference cycle',
    () => formatLocalconfig(goodEntries({ mysql_socket: '${a}', a: '${b}', b: '${a}' })),
    /refers to itself/,
  ],
  ['a socket path that does not exist', () => formatLocalconfig(goodEntries()), /cannot reach MariaDB/],
  [
    'a socket path that is a regular file',
    () => formatLocalconfig(goodEntries({ mysql_socket: '/etc/hostname' })),
    /cannot reach MariaDB/,
  ],
  [
    'a socket path that is a directory',
    () => formatLocalconfig(goodEntries({ mysql_socket: '/tmp' })),
    /cannot reach MariaDB/,
  ],
  [
    'a billion-laughs entity bomb',
    () =>
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join(
        '',
      ) +
      `]><localconfig><key name="zimbra_server_hostname"><value>&lol9;</value></key></localconfig>`,
    /./,
  ],
];

beforeAll(() => {
  root = tempDir('mv-lc-');
  home = path.join(root, 'zimbra');
  target = path.join(root, 'target');
  fs.mkdirSync(path.join(home, 'conf'), { recursive: true });
  fs.mkdirSync(path.join(target, 'sessions'), { recursive: true });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function openQuickly(): Promise<unknown> {
  const transport = await openTransport({ kind: 'local', name: 'mail.example.com' });
  let timer: NodeJS.Timeout | undefined;
  try {
    const access = await Promise.race([
      openServerAccess(transport, { zimbraHome: home, local: true }),
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error('server access hangs')), 8000)),
      ),
    ]);
    await access.close();
    return null;
  } catch (error) {
    await transport.close().catch(() => undefined);
    return error;
  } finally {
    clearTimeout(timer);
  }
}

describe('a malformed or lying localconfig.xml', { timeout: 60_000 }, () => {
  it.each(cases)('%s: one clear error, quickly, no password in it', async (_name, xml, expected) => {
    fs.writeFileSync(path.join(home, 'conf', 'localconfig.xml'), xml());
    const started = Date.now();
    const error = await openQuickly();
    expect(error, 'server access opened on a broken localconfig').toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).not.toMatch(/hangs/);
    expect(message).toMatch(expected);
    expect(message).not.toContain(DB_PASSWORD);
    expect(message).not.toContain(LDAP_PASSWORD);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never reads a file an external entity names (XXE)', () => {
    const xml =
      `<?xml version="1.0"?><!DOCTYPE lc [<!ENTITY leak SYSTEM "file:///etc/passwd">]>` +
      `<localconfig><key name="zimbra_mysql_password"><value>&leak;</value></key></localconfig>`;
    let value = '';
    try {
      value = parseLocalconfig(xml).get('zimbra_mysql_password') ?? '';
    } catch {
      return; // refusing the DOCTYPE outright is fine too
    }
    expect(value).not.toContain('root:');
  });

  it('through the CLI: exit 1, one mailvault: line, no password, the target untouched', async () => {
    fs.writeFileSync(
      path.join(home, 'conf', 'localconfig.xml'),
      formatLocalconfig(goodEntries({ zimbra_mailbox_groups: '0' })),
    );
    const before = snapshotTree(target);
    const run = await runCli(['zmbackup', '-f', '--sync', '-a', 'all', '-t', target, '--zimbra-home', home]);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mailvault: .*zimbra_mailbox_groups/);
    expect(run.stderr + run.stdout).not.toContain(DB_PASSWORD);
    expect(snapshotTree(target)).toEqual(before);
  });
});
