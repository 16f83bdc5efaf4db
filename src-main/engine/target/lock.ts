import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsyncDir, pidExists, tempFileWriter, tempNameFor, writeFileAtomic } from './durable-fs';
import { TargetError } from './errors';
import { targetPaths } from './layout';
import {
  currentBootId,
  describeHolder,
  lockHolderLiveness,
  type LockInfo,
  lockInfoSchema,
  processStartTicks,
} from './lock-holder';

export type { LockInfo } from './lock-holder';

/**
 * One writer per target: `<target>/lock` holds the writer's pid, host, start time, operation and
 * session label. It is created exclusively: written whole to a temp file, then hard-linked to
 * `lock` (link fails if the name exists, as O_EXCL does, and readers never see a half-written
 * lock). Where hard links are not supported it falls back to open(O_EXCL).
 *
 * A lock whose holder is dead on this host is stale. Taking it over is a race between everyone
 * who noticed; exactly one must win. Each lock has a nonce; a contender first creates
 * `lock.<nonce>.claim` exclusively (one winner per stale lock), re-reads `lock` to check it is
 * still that same stale lock, and only then renames its own lock over it. If the claimer died
 * too, its claim is stale in turn and is claimed the same way (`lock.<claim nonce>.claim`).
 */
export class TargetLockedError extends TargetError {
  constructor(
    readonly holder: LockInfo,
    readonly lockPath: string,
  ) {
    const remote = holder.hostname !== os.hostname();
    super(
      'TARGET_LOCKED',
      `The backup target is in use: ${describeHolder(holder)} (${lockPath}).` +
        (remote
          ? ` That host's processes cannot be checked from here; remove the lock only if that process no longer runs.`
          : ''),
    );
    this.name = 'TargetLockedError';
  }
}

export interface TargetLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Records the label of the session being written, for whoever finds the target locked. */
  setLabel(label: string): Promise<void>;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

export type LockReading =
  { state: 'free' } | { state: 'held'; info: LockInfo } | { state: 'unreadable'; reason: string };

export async function readLock(target: string): Promise<LockReading> {
  return readLockFile(targetPaths(target).lock);
}

export async function acquireLock(
  target: string,
  request: { operation: string; label?: string },
): Promise<TargetLock> {
  const { root, lock } = targetPaths(target);
  await fs.promises.mkdir(root, { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    startedMs: Date.now(),
    operation: request.operation,
    label: request.label ?? null,
    nonce: crypto.randomBytes(16).toString('hex'),
    bootId: currentBootId(),
    processStartTicks: processStartTicks(process.pid),
  };
  const temp = tempNameFor(lock);
  try {
    await writePrivateFile(temp, `${JSON.stringify(info)}\n`);
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await createExclusive(lock, temp)) return await won(lock, info);
      const current = await readLockFile(lock);
      if (current.state === 'free') continue; // released in between: try again
      if (current.state === 'unreadable') throw unreadable(lock, current.reason);
      if (lockHolderLiveness(current.info) !== 'dead') throw new TargetLockedError(current.info, lock);
      const outcome = await takeOver(lock, current.info, temp);
      if (outcome === 'won') return await won(lock, info);
      if (outcome !== 'retry') throw new TargetLockedError(outcome, lock);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
    const last = await readLockFile(lock);
    if (last.state === 'held') throw new TargetLockedError(last.info, lock);
    throw new TargetError('TARGET_LOCKED', `Could not take ${lock}: it kept changing`);
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

/** Runs `work` holding the target's lock, and releases it however `work` ends. */
export async function withLock<T>(
  target: string,
  operation: string,
  work: (lock: TargetLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(target, { operation });
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}

/** 'won', 'retry' (the situation changed: look again), or the live process taking it over. */
async function takeOver(lock: string, stale: LockInfo, temp: string): Promise<'won' | 'retry' | LockInfo> {
  const deadClaims: string[] = [];
  let instance = stale;
  let claim: string;
  for (;;) {
    claim = `${lock}.${instance.nonce}.claim`;
    if (await createExclusive(claim, temp)) break;
    const claimer = await readLockFile(claim);
    if (claimer.state === 'free') return 'retry'; // the winner has finished and cleaned up
    if (claimer.state === 'unreadable') throw unreadable(claim, claimer.reason);
    if (lockHolderLiveness(claimer.info) !== 'dead') return claimer.info;
    deadClaims.push(claim);
    instance = claimer.info;
  }
  const current = await readLockFile(lock);
  if (current.state !== 'held' || current.info.nonce !== stale.nonce) {
    await fs.promises.rm(claim, { force: true });
    return 'retry';
  }
  // Ours is the only claim on this stale lock (or on its dead claimers): replace it.
  await fs.promises.rename(temp, lock);
  await fsyncDir(path.dirname(lock));
  for (const file of [claim, ...deadClaims]) await fs.promises.rm(file, { force: true });
  return 'won';
}

async function won(lock: string, info: LockInfo): Promise<TargetLock> {
  await fsyncDir(path.dirname(lock));
  await sweepLeftovers(lock, info.nonce);
  let current = info;
  const ours = async (): Promise<boolean> => {
    const reading = await readLockFile(lock);
    return reading.state === 'held' && reading.info.nonce === current.nonce;
  };
  return {
    path: lock,
    get info() {
      return current;
    },
    async setLabel(label: string) {
      if (!(await ours())) throw lost(lock);
      current = { ...current, label };
      await writeFileAtomic(lock, `${JSON.stringify(current)}\n`);
    },
    async release() {
      if (!(await ours())) throw lost(lock);
      await fs.promises.rm(lock);
      await fsyncDir(path.dirname(lock));
    },
  };
}

/**
 * Once we hold the lock, claims on older lock instances are useless (whoever holds one will find
 * `lock` changed and back off), and temp files of dead processes are garbage.
 */
async function sweepLeftovers(lock: string, ourNonce: string): Promise<void> {
  const dir = path.dirname(lock);
  const base = path.basename(lock);
  for (const name of await fs.promises.readdir(dir)) {
    if (!name.startsWith(`${base}.`)) continue;
    const claim = /^lock\.([0-9a-f]+)\.claim$/.exec(name);
    const temp = tempFileWriter(name);
    // A temp file is someone's lock about to be linked; only those of vanished pids are garbage.
    // The pid says something only on this host: another host's temp must also be old.
    const deadTemp =
      temp !== null &&
      temp.pid !== process.pid &&
      !pidExists(temp.pid) &&
      (temp.thisHost || (await olderThan(path.join(dir, name), 60_000)));
    if ((claim && claim[1] !== ourNonce) || deadTemp)
      await fs.promises.rm(path.join(dir, name), { force: true });
  }
}

/** Writes a file no one else reads until it is linked: no temp of its own (nothing to leave). */
async function writePrivateFile(file: string, data: string): Promise<void> {
  const handle = await fs.promises.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await fs.promises.stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Gives `file` the content of `temp` if `file` does not exist; false if it does. */
async function createExclusive(file: string, temp: string): Promise<boolean> {
  try {
    await fs.promises.link(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
  }
  // No hard links here (some network or FUSE file systems): exclusive create, then write.
  try {
    const handle = await fs.promises.open(file, 'wx');
    try {
      await handle.writeFile(await fs.promises.readFile(temp));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function readLockFile(file: string): Promise<LockReading> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    return { state: 'unreadable', reason: (error as Error).message };
  }
  try {
    const parsed = lockInfoSchema.safeParse(JSON.parse(text));
    return parsed.success
      ? { state: 'held', info: parsed.data }
      : { state: 'unreadable', reason: 'not a Mailvault lock' };
  } catch {
    return { state: 'unreadable', reason: text.length === 0 ? 'empty' : 'not JSON' };
  }
}

function unreadable(file: string, reason: string): TargetError {
  return new TargetError(
    'LOCK_UNREADABLE',
    `${file} exists but cannot be read as a lock (${reason}). If no Mailvault process is using this target, remove it.`,
  );
}

function lost(lock: string): TargetError {
  return new TargetError('LOCK_LOST', `${lock} is no longer held by this process (pid ${process.pid})`);
}
