import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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

/** Waits until `check` is true (polling), or fails naming what it waited for. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  for (const started = Date.now(); Date.now() - started < timeoutMs;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
