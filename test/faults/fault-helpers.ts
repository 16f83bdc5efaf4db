import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { Lab } from '../../src-main/lab/lab';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { ldapClient, withLab } from '../helpers/lab-fixture';

/** Shared by the fault tests: seeded randomness, target trees, and the CLI as a child process. */
const ROOT = path.resolve(__dirname, '../..');

/** A seeded generator in [0, 1), so a failing kill point can be replayed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every file and directory under `root` (relative paths, sorted); lock and logs/ left out. */
export function tree(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : ''))
    .filter((p) => p !== 'lock' && !p.startsWith('logs'))
    .sort();
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  pid: number;
  done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
  /** Whether the process has ended. */
  exited(): boolean;
}

/** `mailvault <args>` as a child process (kill -9 needs a process of its own). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, MAILVAULT_FAILPOINT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    pid: child.pid!,
    done,
    kill: (signal = 'SIGKILL') => child.kill(signal),
    exited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** `mailvault <args>` killed with SIGKILL after `afterMs` (null: left to finish or to its failpoint). */
export async function cliKilledAfter(
  args: string[],
  afterMs: number | null,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const run = startCli(args, env);
  const timer = afterMs === null ? undefined : setTimeout(() => run.kill(), afterMs);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

export { waitFor } from '../helpers/wait-for';

/**
 * The setup the lab-backed fault and crash tests share: one lab server with accounts and mail,
 * an LDAP client to read account status, and a scratch directory. Each test keeps its own
 * assertions; `stop` is safe from afterAll even if start failed half-way.
 */
export interface FaultLab {
  lab: Lab;
  server: LabServerInfo;
  ldap: Client;
  emails: string[];
  work: string;
  /** Emails of the accounts in maintenance now. */
  inMaintenance(): Promise<string[]>;
  /** `zmbackup -f -a all` on the lab server, local, into `target`. */
  full(target: string, ...more: string[]): string[];
  /** Replaces the LDAP client (after slapd was restarted). */
  reconnect(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultLab(options: {
  seed: string;
  accounts: string[];
  messages: number;
}): Promise<FaultLab> {
  const lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  const sim = await MailboxSimulator.open(server, { seed: options.seed });
  const emails = (await sim.provision(options.accounts)).map((m) => m.email);
  await sim.populate(options.messages);
  await sim.close();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `mv-${options.seed}-`));
  const handle: FaultLab = {
    lab,
    server,
    ldap: await ldapClient(server),
    emails,
    work,
    async inMaintenance() {
      const out: string[] = [];
      for (const email of emails)
        if ((await accountStatus(handle.ldap, email)) === 'maintenance') out.push(email);
      return out;
    },
    full: (target, ...more) => [
      'zmbackup',
      '-f',
      '-a',
      'all',
      '-s',
      'local',
      '--zimbra-home',
      server.zimbraHome,
      '-t',
      target,
      ...more,
    ],
    async reconnect() {
      await handle.ldap.unbind().catch(() => undefined);
      handle.ldap = await ldapClient(server);
    },
    async stop() {
      await handle.ldap.unbind().catch(() => undefined);
      await lab.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
  return handle;
}
