import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { openServerAccess, type ServerAccess } from '../engine/server/server-access';
import { openTransport, type Transport } from '../engine/transport';
import { labInfoFromDir, labIsRunning } from '../lab/lab';
import { DEFAULT_LAB_DIR } from '../lab/sandbox';
import { UsageError } from './usage-error';

/**
 * Where the server is, as every command takes it (SPEC §4): `-s local` (the default) on the
 * server itself, `-s ssh://user@host[:port]` with `-i key` or the SSH agent and `--host-key` to
 * pin it, or `-s lab[:N]` for the sandbox server started by `mailvault lab up`.
 */
export interface ServerFlags {
  server: string;
  identity?: string;
  hostKey?: string;
  zimbraHome?: string;
}

export type ServerProfile =
  | { kind: 'local'; zimbraHome: string; name: string }
  | {
      kind: 'ssh';
      host: string;
      port: number;
      username: string;
      identity?: string;
      hostKey?: string;
      zimbraHome: string;
      name: string;
    };

/** zmbackup keeps Zimbra's -i (incremental): there the key is --identity, or -i followed by a file (see main.ts). */
export function addServerOptions(command: Command, shortIdentity = true): Command {
  return command
    .option('-s, --server <server>', 'local, ssh://user@host[:port], or lab[:N] (the sandbox)', 'local')
    .option(
      shortIdentity ? '-i, --identity <file>' : '--identity <file>',
      'SSH private key (default: the SSH agent)',
    )
    .option('--host-key <fingerprint>', 'pin the SSH host key (SHA256:… as ssh-keygen -lf prints it)')
    .option('--zimbra-home <dir>', 'where Zimbra is installed on the server (default /opt/zimbra)');
}

export function parseServer(flags: ServerFlags): ServerProfile {
  const zimbraHome = flags.zimbraHome ?? '/opt/zimbra';
  if (flags.zimbraHome !== undefined && !path.posix.isAbsolute(flags.zimbraHome))
    throw new UsageError(`--zimbra-home ${flags.zimbraHome}: not an absolute path`);
  if (flags.server === 'local') return { kind: 'local', zimbraHome, name: 'local' };
  const lab = /^lab(?::(\d+))?$/.exec(flags.server);
  if (lab) {
    if (!labIsRunning(DEFAULT_LAB_DIR))
      throw new UsageError(
        `-s ${flags.server}: no sandbox running in ${DEFAULT_LAB_DIR}; start it with: mailvault lab up`,
      );
    const servers = labInfoFromDir(DEFAULT_LAB_DIR)!.servers;
    const server = servers[Number(lab[1] ?? 1) - 1];
    if (!server) throw new UsageError(`-s ${flags.server}: the sandbox has ${servers.length} server(s)`);
    return { kind: 'local', zimbraHome: server.zimbraHome, name: server.hostname };
  }
  if (flags.server.startsWith('ssh://')) {
    let url: URL;
    try {
      url = new URL(flags.server);
    } catch {
      throw new UsageError(`-s ${flags.server}: not an ssh://user@host[:port] address`);
    }
    if (!url.hostname || url.pathname.replace(/^\/$/, '') !== '')
      throw new UsageError(`-s ${flags.server}: not an ssh://user@host[:port] address`);
    if (flags.identity !== undefined && !fs.existsSync(flags.identity))
      throw new UsageError(`-i ${flags.identity}: no such file`);
    if (flags.hostKey !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(flags.hostKey))
      throw new UsageError(`--host-key ${flags.hostKey}: not a SHA256:<base64> fingerprint`);
    return {
      kind: 'ssh',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 22,
      username: decodeURIComponent(url.username || 'root'),
      identity: flags.identity,
      hostKey: flags.hostKey,
      zimbraHome,
      name: url.hostname,
    };
  }
  throw new UsageError(`-s ${flags.server}: use local, ssh://user@host[:port] or lab`);
}

/** Trust on first use only with a person at a terminal; a script must pin the key. */
async function askAboutHostKey(address: string, fingerprint: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(
      `${address} offers host key ${fingerprint}; pin it with --host-key ${fingerprint} after checking it on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)`,
    );
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${address} offers host key ${fingerprint}. Trust it? (yes/no) `);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

function transportFor(profile: ServerProfile): Promise<Transport> {
  if (profile.kind === 'local') return openTransport({ kind: 'local', name: profile.name });
  const address = `ssh://${profile.username}@${profile.host}:${profile.port}`;
  return openTransport(
    {
      kind: 'ssh',
      name: profile.name,
      host: profile.host,
      port: profile.port,
      username: profile.username,
      privateKeyPath: profile.identity,
      hostKeyFingerprint: profile.hostKey,
    },
    { onUnknownHostKey: (fingerprint) => askAboutHostKey(address, fingerprint) },
  );
}

export async function openServer(profile: ServerProfile): Promise<ServerAccess> {
  const transport = await transportFor(profile);
  try {
    return await openServerAccess(transport, {
      zimbraHome: profile.zimbraHome,
      local: profile.kind === 'local',
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
}
