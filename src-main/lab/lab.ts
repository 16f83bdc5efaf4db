import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { isAlive, stopPid, type Daemon } from './daemon';
import { ADMIN_DN, baseDirectory, domainDn } from './directory-seed';
import { startMariadb } from './mariadb';
import { startSlapd } from './slapd';
import { startSshd } from './sshd';
import type { LabInfo, LabServerInfo } from './types';
import { createZimbraHome, homePaths } from './zimbra-home';
import { parseLocalconfig, serverSettings } from '../engine/server/localconfig';

/**
 * A lab: one or more Zimbra mailbox servers, each with its own zimbra_home, MariaDB and sshd on
 * its own loopback address, sharing one OpenLDAP (on the first server) as a real multi-server
 * install does. Everything lives in one directory; `stop()` (or `stopLab(dir)`) tears it down.
 */
export interface LabOptions {
  servers?: number;
  /** Directory for the lab; a fresh temp dir when omitted. */
  dir?: string;
  domain?: string;
  /** zimbra_mailbox_groups: Zimbra's default is 100. */
  mailboxGroups?: number;
  /** Leave the servers running after this process exits (`mailvault lab up`). */
  detached?: boolean;
  log?: (line: string) => void;
}

export interface Lab {
  info: LabInfo;
  domain: string;
  stop(): Promise<void>;
}

const STATE_FILE = 'lab.json';

interface LabState {
  dir: string;
  domain: string;
  pids: number[];
  /** Info without secrets: passwords stay in each server's localconfig.xml, as on Zimbra. */
  servers: Array<
    Omit<LabServerInfo, 'mariadb' | 'ldap'> & {
      mariadb: Omit<LabServerInfo['mariadb'], 'password'>;
      ldap: Omit<LabServerInfo['ldap'], 'password'>;
    }
  >;
}

const secret = () => crypto.randomBytes(12).toString('base64url');

/** Loopback address of server n (1-based): 127.0.0.1, 127.0.0.2, … */
const addressOf = (n: number) => `127.0.0.${n}`;

async function addVolumes(server: LabServerInfo): Promise<void> {
  const connection = await mysql.createConnection({
    socketPath: server.mariadb.socket,
    user: server.mariadb.user,
    password: server.mariadb.password,
    database: 'zimbra',
  });
  try {
    const p = homePaths(server.zimbraHome);
    // As zmvolume does on install: message1 (primary, type 1) and index1 (type 10), default bits.
    const columns =
      '(id, type, name, path, file_bits, file_group_bits, mailbox_bits, mailbox_group_bits, compress_blobs, compression_threshold)';
    await connection.query(
      `INSERT INTO volume ${columns} VALUES (1, 1, 'message1', ?, 12, 8, 12, 8, 0, 4096), (2, 10, 'index1', ?, 12, 8, 12, 8, 0, 4096)`,
      [p.store, p.index],
    );
    await connection.query('DELETE FROM current_volumes');
    await connection.query(
      'INSERT INTO current_volumes (message_volume_id, secondary_message_volume_id, index_volume_id, next_mailbox_id) VALUES (1, NULL, 2, 1)',
    );
  } finally {
    await connection.end();
  }
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const count = options.servers ?? 1;
  const domain = options.domain ?? 'example.com';
  const groups = options.mailboxGroups ?? 100;
  const log = options.log ?? (() => undefined);
  // A lab in a directory it made itself is removed when stopped; a given directory is kept.
  const ownsDir = !options.dir;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-lab-'));
  fs.mkdirSync(dir, { recursive: true });
  const daemons: Daemon[] = [];
  const ldapPassword = secret();
  const hostnames = Array.from({ length: count }, (_, i) => `mail${i + 1}.${domain}`);
  const homes = hostnames.map((_, i) => path.join(dir, `server${i + 1}`, 'opt', 'zimbra'));

  try {
    log(`starting OpenLDAP for ${domain}`);
    const slapd = await startSlapd({
      dir: homePaths(homes[0]!).ldapData,
      host: addressOf(1),
      logFile: path.join(dir, 'slapd.log'),
      adminDn: ADMIN_DN,
      seed: baseDirectory({
        domain,
        adminPassword: ldapPassword,
        servers: hostnames.map((hostname) => ({ hostname, zimbraId: crypto.randomUUID() })),
      }),
      detached: options.detached,
    });
    daemons.push(slapd);

    const servers = await Promise.all(
      hostnames.map(async (hostname, i): Promise<LabServerInfo> => {
        const home = homes[i]!;
        const address = addressOf(i + 1);
        const mysqlPassword = secret();
        const mysqlRootPassword = secret();
        const logDir = path.join(home, 'log');
        fs.mkdirSync(logDir, { recursive: true });
        log(`starting ${hostname}: MariaDB and sshd on ${address}`);
        const [db, sshd] = await Promise.all([
          startMariadb({
            datadir: homePaths(home).mysqlData,
            socket: homePaths(home).mysqlSocket,
            host: address,
            logFile: path.join(logDir, 'mysqld.log'),
            mailboxGroups: groups,
            rootPassword: mysqlRootPassword,
            zimbraUser: 'zimbra',
            zimbraPassword: mysqlPassword,
            detached: options.detached,
          }),
          startSshd({
            dir: path.join(dir, `server${i + 1}`, 'ssh'),
            host: address,
            logFile: path.join(logDir, 'sshd.log'),
            detached: options.detached,
          }),
        ]);
        daemons.push(db, sshd);
        createZimbraHome({
          home,
          hostname,
          address,
          mysqlPort: db.port,
          mysqlPassword,
          mysqlRootPassword,
          ldapUrl: slapd.url,
          ldapPassword,
          ldapRootPassword: secret(),
          ldapIsMaster: i === 0,
          mailboxGroups: groups,
        });
        const info: LabServerInfo = {
          hostname,
          zimbraHome: home,
          mariadb: {
            socket: db.socket,
            host: address,
            port: db.port,
            user: 'zimbra',
            password: mysqlPassword,
          },
          ldap: { url: slapd.url, bindDn: ADMIN_DN, password: ldapPassword, baseDn: domainDn(domain) },
          ssh: {
            host: address,
            port: sshd.port,
            user: sshd.user,
            privateKeyPath: sshd.privateKeyPath,
            hostKeyFingerprint: sshd.hostKeyFingerprint,
          },
        };
        await addVolumes(info);
        return info;
      }),
    );
    const info: LabInfo = { dir, servers };
    writeState(dir, domain, daemons, servers);
    return { info, domain, stop: () => stopLab(dir, { removeFiles: ownsDir }) };
  } catch (error) {
    await Promise.all(daemons.map((d) => d.stop()));
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function writeState(dir: string, domain: string, daemons: Daemon[], servers: LabServerInfo[]): void {
  const state: LabState = {
    dir,
    domain,
    pids: daemons.map((d) => d.pid),
    servers: servers.map((s) => ({
      ...s,
      mariadb: { socket: s.mariadb.socket, host: s.mariadb.host, port: s.mariadb.port, user: s.mariadb.user },
      ldap: { url: s.ldap.url, bindDn: s.ldap.bindDn, baseDn: s.ldap.baseDn },
    })),
  };
  fs.writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
}

export function readLabState(dir: string): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function labIsRunning(dir: string): boolean {
  const state = readLabState(dir);
  return !!state && state.pids.length > 0 && state.pids.every(isAlive);
}

/** Stops every server of the lab in `dir` (from its state file) and removes the state file. */
export async function stopLab(dir: string, options: { removeFiles?: boolean } = {}): Promise<void> {
  const state = readLabState(dir);
  if (state) await Promise.all(state.pids.map((pid) => stopPid(pid)));
  fs.rmSync(path.join(dir, STATE_FILE), { force: true });
  if (options.removeFiles) fs.rmSync(dir, { recursive: true, force: true });
}

/** Full info of a running lab (passwords read back from each server's localconfig.xml). */
export function labInfoFromDir(dir: string): LabInfo | undefined {
  const state = readLabState(dir);
  if (!state) return undefined;
  const servers = state.servers.map((s): LabServerInfo => {
    const lc = serverSettings(parseLocalconfig(fs.readFileSync(homePaths(s.zimbraHome).localconfig, 'utf8')));
    return {
      ...s,
      mariadb: { ...s.mariadb, password: lc.mysql.password },
      ldap: { ...s.ldap, password: lc.ldap.password },
    };
  });
  return { dir: state.dir, servers };
}
