import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { run } from './exec';
import { canConnect, freePort } from './net';

/**
 * The lab's OpenSSH server: its own host key, a generated client key allowed to log in as the
 * current user, sftp, and TCP/Unix-socket forwarding (the engine reaches MariaDB and LDAP through
 * the SSH connection, as it will on a real server).
 */
export interface SshdOptions {
  dir: string;
  host: string;
  port?: number;
  logFile: string;
  detached?: boolean;
}

export interface RunningSshd extends Daemon {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  hostKeyFingerprint: string;
}

/** OpenSSH's SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA… comment"). */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

async function keygen(file: string, comment: string): Promise<void> {
  if (!fs.existsSync(file))
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

export async function startSshd(o: SshdOptions): Promise<RunningSshd> {
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(o.dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(o.dir, 'client_ed25519');
  await keygen(hostKey, 'mailvault-lab-host');
  await keygen(clientKey, 'mailvault-lab-client');
  const authorizedKeys = path.join(o.dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  // A mail server's login shell starts from a stock dotfile; the machine running the lab may have
  // a heavy one (this CI's root .bashrc runs `pyenv init`, ~90 ms per command and a 60 s lock wait
  // under parallel commands), and bash sources ~/.bashrc for every command sshd runs. So sessions
  // get a home of their own with Debian's stock start: non-interactive shells return at once.
  const home = path.join(o.dir, 'home');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.writeFileSync(
    path.join(home, '.bashrc'),
    '# Debian stock: nothing for non-interactive shells\ncase $- in *i*) ;; *) return;; esac\n',
  );
  const port = o.port ?? (await freePort(o.host));
  const configFile = path.join(o.dir, 'sshd_config');
  fs.writeFileSync(
    configFile,
    [
      `Port ${port}`,
      `ListenAddress ${o.host}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(o.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The lab's files live in a temp dir whose parents StrictModes would reject.
      'StrictModes no',
      'AllowTcpForwarding yes',
      'AllowStreamLocalForwarding yes',
      `SetEnv HOME=${home}`,
      'MaxSessions 64',
      'MaxStartups 64:30:128',
      'ClientAliveInterval 15',
      'Subsystem sftp internal-sftp',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  // Privilege separation needs this directory when sshd runs as root; Debian's service creates it.
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const daemon = await startDaemon({
    name: `sshd (${o.host}:${port})`,
    command: '/usr/sbin/sshd',
    args: ['-D', '-e', '-f', configFile],
    logFile: o.logFile,
    ready: () => canConnect(o.host, port),
    detached: o.detached,
  });
  return {
    ...daemon,
    host: o.host,
    port,
    user: os.userInfo().username,
    privateKeyPath: clientKey,
    hostKeyFingerprint: fingerprintOf(fs.readFileSync(`${hostKey}.pub`, 'utf8')),
  };
}
