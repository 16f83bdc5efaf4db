import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { openServerAccess, type ServerAccess } from '../engine/server/server-access';
import { openTransport, type Transport } from '../engine/transport';
import { labInfoFromDir, labIsRunning } from '../lab/lab';
import { DEFAULT_LAB_DIR } from '../lab/sandbox';
import { readPassphraseFile, resolveKeyPassphrase } from './key-passphrase';
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
  /** A file whose first line is the passphrase of the -i key (never on the command line). */
  passphraseFile?: string;
}

export type ServerProfile =
  | { kind: 'local'; zimbraHome: string; name: string }
  | {
      kind: 'ssh';
      host: string;
      port: number;
      username: string;
      identity?: string;
      /** Where the key's passphrase is, if it is encrypted (resolveKeyPassphrase reads it). */
      passphraseFile?: string;
      /** The key's passphrase once known (from the file, a prompt, or the parent of a worker). */
      passphrase?: string;
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
    .option(
      '--passphrase-file <file>',
      'passphrase of an encrypted -i key, its first line (default: asked at a terminal)',
    )
    .option('--host-key <fingerprint>', 'pin the SSH host key (SHA256:… as ssh-keygen -lf prints it)')
    .option('--zimbra-home <dir>', 'where Zimbra is installed on the server (default /opt/zimbra)');
}

/** Characters a shell, a glob or a terminal reads as more than part of a name. */
const ODD_PATH_CHARACTER =
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069$`;|&<>*?'"\\!(){}[\]]/;

/**
 * A directory the administrator names (target, Zimbra home): absolute, no `..` segment, within
 * PATH_MAX, and nothing a shell, a glob or a terminal would read as more than a name.
 */
export function checkPathArgument(flag: string, value: string): string {
  if (!path.posix.isAbsolute(value)) throw new UsageError(`${flag} ${value || '""'}: not an absolute path`);
  if (value.length > 4096) throw new UsageError(`${flag} ${value}: longer than a path may be (4096)`);
  if (value.split('/').includes('..')) throw new UsageError(`${flag} ${value}: has a ".." segment`);
  const odd = ODD_PATH_CHARACTER.exec(value);
  if (odd)
    throw new UsageError(`${flag} ${value}: holds ${JSON.stringify(odd[0])}, which a path here may not`);
  return value;
}

/** A private key file, by its PEM/OpenSSH armour; what is wrong with it is bad input, not a failure. */
function checkKeyFile(file: string): void {
  let head: string;
  try {
    if (!fs.statSync(file).isFile()) throw new UsageError(`-i ${file}: not a file`);
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(256);
      head = buffer.subarray(0, fs.readSync(fd, buffer, 0, 256, 0)).toString('latin1');
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`-i ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`}`);
  }
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(head.trimStart()))
    throw new UsageError(`-i ${file}: not an SSH private key (no BEGIN … PRIVATE KEY line)`);
}

const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

export function parseServer(flags: ServerFlags): ServerProfile {
  const zimbraHome = flags.zimbraHome ?? '/opt/zimbra';
  if (flags.zimbraHome !== undefined) checkPathArgument('--zimbra-home', flags.zimbraHome);
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
    // URL() drops tabs and newlines silently: a value holding one is not what the user meant.
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (/[\u0000-\u001f\u007f-\u009f\s]/.test(flags.server))
      throw new UsageError(`-s ${flags.server}: not an ssh://user@host[:port] address`);
    let url: URL;
    try {
      url = new URL(flags.server);
    } catch {
      throw new UsageError(`-s ${flags.server}: not an ssh://user@host[:port] address`);
    }
    if (!url.hostname || url.pathname.replace(/^\/$/, '') !== '' || url.search || url.hash)
      throw new UsageError(`-s ${flags.server}: not an ssh://user@host[:port] address`);
    // A password in the address would sit in the shell history and the process list.
    if (url.password) {
      const shown = flags.server.replace(`:${url.password}@`, ':***@');
      throw new UsageError(`-s ${shown}: no password in the address; use a key (-i) or the SSH agent`);
    }
    if (!HOST_NAME.test(url.hostname) && !IPV6.test(url.hostname))
      throw new UsageError(`-s ${flags.server}: ${url.hostname} is not a host name or address`);
    if (/^ssh:\/\/@/.test(flags.server)) throw new UsageError(`-s ${flags.server}: the user name is empty`);
    if (url.username && !SSH_USER.test(decodeURIComponent(url.username)))
      throw new UsageError(`-s ${flags.server}: ${decodeURIComponent(url.username)} is not a user name`);
    if (url.port === '0') throw new UsageError(`-s ${flags.server}: port 0 is not a port`);
    if (flags.identity !== undefined) checkKeyFile(flags.identity);
    if (flags.passphraseFile !== undefined) {
      if (flags.identity === undefined)
        throw new UsageError(
          `--passphrase-file ${flags.passphraseFile}: only with -i (the agent holds its own keys)`,
        );
      readPassphraseFile(flags.passphraseFile);
    }
    if (flags.hostKey !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(flags.hostKey))
      throw new UsageError(`--host-key ${flags.hostKey}: not a SHA256:<base64> fingerprint`);
    return {
      kind: 'ssh',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 22,
      username: decodeURIComponent(url.username || 'root'),
      identity: flags.identity,
      passphraseFile: flags.passphraseFile,
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
      passphrase: profile.passphrase,
      hostKeyFingerprint: profile.hostKey,
    },
    { onUnknownHostKey: (fingerprint) => askAboutHostKey(address, fingerprint) },
  );
}

export async function openServer(
  profile: ServerProfile,
  options: { dbConnections?: number } = {},
): Promise<ServerAccess> {
  await resolveKeyPassphrase(profile);
  const transport = await transportFor(profile).catch((error: unknown) => {
    // An unpinned key with no one at a terminal is for the user to fix (--host-key): exit 2.
    const cause = (error as { cause?: unknown } | undefined)?.cause;
    throw cause instanceof UsageError ? cause : error;
  });
  try {
    return await openServerAccess(transport, {
      zimbraHome: profile.zimbraHome,
      local: profile.kind === 'local',
      ...options,
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
}
