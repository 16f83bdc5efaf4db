import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A server process of the lab (mariadbd, slapd, sshd). Started in the foreground of its own
 * process group so that stopping it also stops anything it forked, and so that `lab up` can
 * leave it running after the CLI exits (detached) and `lab down` can stop it from its pid.
 */
export interface Daemon {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  /** Where stdout/stderr go; read back into the error when the daemon fails to start. */
  logFile: string;
  /** Resolves true when the daemon serves requests. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Keep running after this process exits (for `lab up`). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test that fails or a Ctrl-C must not leave servers behind: kill the attached ones on exit. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) if (child.pid) killGroup(child.pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops a process group by pid: SIGTERM, then SIGKILL if it has not exited in time. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid)) return;
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (isAlive(pid)) killGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(10);
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const out = fs.openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: spec.env ?? process.env,
  });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);
  if (!child.pid) throw new Error(`${spec.name}: could not start ${spec.command}`);
  const pid = child.pid;
  if (spec.detached) child.unref();
  else {
    running.add(child);
    installExitHook();
    void exited.then(() => running.delete(child));
  }

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (!(await spec.ready().catch(() => false))) {
    if (gone || Date.now() > deadline) {
      await stopPid(pid, 1000);
      const why = gone ? 'exited' : 'did not become ready in time';
      throw new Error(`${spec.name} ${why}; last lines of ${spec.logFile}:\n${tail(spec.logFile)}`);
    }
    await sleep(50);
  }
  return { name: spec.name, pid, stop: () => stopPid(pid) };
}
