import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, stopPid, type Daemon } from './daemon';
import { run } from './exec';
import { canConnect, freePort } from './net';
import { resourcePath } from './resources';

/**
 * The lab's MariaDB: a real mariadbd per server, with Zimbra's schema (database `zimbra` and
 * `mboxgroup1..N`). Creating ~2,000 tables takes a while, so a datadir with the schema loaded is
 * built once per machine (keyed by the DDL's hash) and copied for every server.
 */
export interface MariadbOptions {
  datadir: string;
  socket: string;
  host: string;
  port?: number;
  logFile: string;
  mailboxGroups: number;
  rootPassword: string;
  zimbraUser: string;
  zimbraPassword: string;
  detached?: boolean;
}

export interface RunningMariadb extends Daemon {
  socket: string;
  host: string;
  port: number;
}

const runAsRoot = process.getuid?.() === 0;

export function mariadbdArgs(o: {
  datadir: string;
  socket: string;
  host: string;
  port: number;
  logFile: string;
}): string[] {
  return [
    '--no-defaults',
    `--datadir=${o.datadir}`,
    `--socket=${o.socket}`,
    `--port=${o.port}`,
    `--bind-address=${o.host}`,
    `--pid-file=${path.join(o.datadir, 'mariadbd.pid')}`,
    `--log-error=${o.logFile}`,
    // Its own temp dir: implicit temp tables live there, and a shared /tmp can be swept under it.
    `--tmpdir=${o.datadir}-tmp`,
    ...(runAsRoot ? ['--user=root'] : []),
    '--skip-name-resolve',
    '--skip-log-bin',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    // Zimbra's my.cnf runs with a relaxed flush (redo log crash recovery covers the gap).
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-buffer-pool-size=128M',
    '--innodb-log-file-size=64M',
    // One shared tablespace keeps the copied template small; invisible to clients.
    '--innodb-file-per-table=0',
    '--max-connections=300',
    '--max-allowed-packet=256M',
  ];
}

/** mariadb client invocation as root over the socket (password-less until the lab sets one). */
export function sql(socket: string, script: string, password?: string): Promise<string> {
  const args = ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names'];
  if (password) args.push(`--password=${password}`);
  return run('mariadb', args, { input: script }).then((r) => r.stdout);
}

function schemaScript(groups: number): string {
  const zimbra = fs.readFileSync(resourcePath('lab/mariadb/zimbra.sql'), 'utf8');
  const group = fs.readFileSync(resourcePath('lab/mariadb/mboxgroup.sql'), 'utf8');
  const parts = [zimbra];
  for (let g = 1; g <= groups; g++) parts.push(group.replaceAll('${DATABASE_NAME}', `mboxgroup${g}`));
  return parts.join('\n;\n');
}

function cacheRoot(): string {
  return process.env.MAILVAULT_LAB_CACHE ?? path.join(os.tmpdir(), 'mailvault-lab-cache');
}

async function buildTemplate(dir: string, groups: number): Promise<void> {
  const datadir = path.join(dir, 'data');
  fs.mkdirSync(datadir, { recursive: true });
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...(runAsRoot ? ['--user=root'] : []),
  ]);
  const socket = path.join(dir, 'build.sock');
  const host = '127.0.0.1';
  const port = await freePort(host);
  const logFile = path.join(dir, 'build.log');
  fs.mkdirSync(`${datadir}-tmp`, { recursive: true });
  const daemon = await startDaemon({
    name: 'mariadbd (template)',
    command: 'mariadbd',
    args: mariadbdArgs({ datadir, socket, host, port, logFile }),
    logFile,
    ready: () => canConnect(host, port),
  });
  try {
    await sql(socket, schemaScript(groups));
  } finally {
    await daemon.stop();
  }
  fs.rmSync(path.join(datadir, 'mariadbd.pid'), { force: true });
}

/** Returns a datadir with Zimbra's schema loaded, building it once per machine and DDL version. */
export async function templateDatadir(groups: number): Promise<string> {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(resourcePath('lab/mariadb/zimbra.sql')));
  hash.update(fs.readFileSync(resourcePath('lab/mariadb/mboxgroup.sql')));
  hash.update(
    `${groups}\n${mariadbdArgs({ datadir: '', socket: '', host: '', port: 0, logFile: '' }).join(' ')}`,
  );
  const key = hash.digest('hex').slice(0, 16);
  const final = path.join(cacheRoot(), `mariadb-${key}`);
  if (fs.existsSync(path.join(final, 'complete'))) return path.join(final, 'data');
  fs.mkdirSync(cacheRoot(), { recursive: true });
  // Built aside and renamed into place, so parallel labs never see a half-built template.
  const building = fs.mkdtempSync(path.join(cacheRoot(), 'building-'));
  try {
    await buildTemplate(building, groups);
    fs.writeFileSync(path.join(building, 'complete'), new Date().toISOString());
    try {
      fs.renameSync(building, final);
    } catch {
      /* another lab finished first: use theirs */
    }
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
  return path.join(final, 'data');
}

export async function startMariadb(o: MariadbOptions): Promise<RunningMariadb> {
  const template = await templateDatadir(o.mailboxGroups);
  fs.mkdirSync(path.dirname(o.datadir), { recursive: true });
  fs.cpSync(template, o.datadir, { recursive: true });
  fs.mkdirSync(path.dirname(o.socket), { recursive: true });
  const port = o.port ?? (await freePort(o.host));
  fs.mkdirSync(`${o.datadir}-tmp`, { recursive: true });
  const daemon = await startDaemon({
    name: `mariadbd (${o.host}:${port})`,
    command: 'mariadbd',
    args: mariadbdArgs({ datadir: o.datadir, socket: o.socket, host: o.host, port, logFile: o.logFile }),
    logFile: o.logFile,
    ready: () => canConnect(o.host, port),
    detached: o.detached,
  });
  try {
    const user = o.zimbraUser.replaceAll("'", "''");
    const pw = o.zimbraPassword.replaceAll("'", "''");
    // As zmmyinit does: the zimbra user gets everything, from the socket and from TCP.
    await sql(
      o.socket,
      [
        `CREATE USER '${user}'@'localhost' IDENTIFIED BY '${pw}';`,
        `CREATE USER '${user}'@'%' IDENTIFIED BY '${pw}';`,
        `GRANT ALL PRIVILEGES ON *.* TO '${user}'@'localhost' WITH GRANT OPTION;`,
        `GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%' WITH GRANT OPTION;`,
        `ALTER USER 'root'@'localhost' IDENTIFIED BY '${o.rootPassword.replaceAll("'", "''")}';`,
        'FLUSH PRIVILEGES;',
      ].join('\n'),
    );
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return { ...daemon, socket: o.socket, host: o.host, port };
}

export { stopPid };
