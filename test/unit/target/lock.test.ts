import crypto from 'node:crypto';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireLock,
  type LockInfo,
  readLock,
  TargetLockedError,
  withLock,
} from '../../../src-main/engine/target/lock';
import { currentBootId, processStartTicks } from '../../../src-main/engine/target/lock-holder';
import { tempDir } from './fixtures';

const racer = fileURLToPath(new URL('./lock-racer.ts', import.meta.url));

let target: string;
beforeEach(() => {
  target = tempDir('mv-lock-');
});
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

function writeLock(over: Partial<LockInfo>): void {
  const info: LockInfo = {
    pid: deadPid(),
    hostname: os.hostname(),
    startedMs: Date.UTC(2021, 6, 12, 15, 59, 51),
    operation: 'full backup',
    label: 'full-20210712.155951.123',
    nonce: 'ab'.repeat(16),
    bootId: currentBootId(),
    processStartTicks: null,
    ...over,
  };
  fs.writeFileSync(path.join(target, 'lock'), JSON.stringify(info));
}

describe('target lock', () => {
  it('records who holds it and refuses a second writer with a message naming them', async () => {
    const lock = await acquireLock(target, { operation: 'full backup' });
    await lock.setLabel('full-20210712.155951.123');
    const reading = await readLock(target);
    expect(reading).toMatchObject({
      state: 'held',
      info: {
        pid: process.pid,
        hostname: os.hostname(),
        operation: 'full backup',
        label: 'full-20210712.155951.123',
      },
    });
    const error = await acquireLock(target, { operation: 'prune' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetLockedError);
    const message = (error as Error).message;
    expect(message).toContain('full backup');
    expect(message).toContain('full-20210712.155951.123');
    expect(message).toContain(`process ${process.pid}`);
    expect(message).toContain(new Date(lock.info.startedMs).toISOString().slice(0, 19).replace('T', ' '));
    await lock.release();
    expect(await readLock(target)).toEqual({ state: 'free' });
    await (await acquireLock(target, { operation: 'prune' })).release();
  });

  it('is released by withLock however the work ends', async () => {
    await expect(
      withLock(target, 'verify', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await readLock(target)).toEqual({ state: 'free' });
  });

  it('takes over a lock whose process is dead', async () => {
    writeLock({});
    const lock = await acquireLock(target, { operation: 'incremental backup' });
    expect((await readLock(target)).state === 'held' && lock.info.pid === process.pid).toBe(true);
    expect(fs.readdirSync(target)).toEqual(['lock']);
    await lock.release();
  });

  it('takes over a lock from before a reboot, or whose pid now belongs to another program', async () => {
    writeLock({ pid: process.pid, bootId: 'another-boot' });
    await (await acquireLock(target, { operation: 'full backup' })).release();
    if (processStartTicks(process.pid) !== null) {
      writeLock({ pid: process.pid, processStartTicks: '1' });
      await (await acquireLock(target, { operation: 'full backup' })).release();
    }
  });

  it('never takes over a lock held on another host', async () => {
    writeLock({ hostname: 'other-host.example.com' });
    await expect(acquireLock(target, { operation: 'full backup' })).rejects.toThrow(
      /other-host\.example\.com.*remove the lock only if/,
    );
  });

  it('leaves alone a lock file it cannot read', async () => {
    fs.writeFileSync(path.join(target, 'lock'), '');
    await expect(acquireLock(target, { operation: 'full backup' })).rejects.toMatchObject({
      code: 'LOCK_UNREADABLE',
    });
    expect(fs.existsSync(path.join(target, 'lock'))).toBe(true);
  });

  it('takes over past a claimer that died while taking over', async () => {
    writeLock({ nonce: 'cd'.repeat(16) });
    const claimer = {
      pid: deadPid(),
      hostname: os.hostname(),
      startedMs: Date.now(),
      operation: 'full backup',
      label: null,
      nonce: 'ef'.repeat(16),
      bootId: currentBootId(),
      processStartTicks: null,
    };
    fs.writeFileSync(path.join(target, `lock.${'cd'.repeat(16)}.claim`), JSON.stringify(claimer));
    const lock = await acquireLock(target, { operation: 'full backup' });
    expect(fs.readdirSync(target)).toEqual(['lock']);
    await lock.release();
  });

  it("sweeps a killed writer's temp lock file of this host at once, and another host's only when old", async () => {
    // The on-disk name: lock.tmp-<pid>-<first 8 hex of sha256(hostname)>-<random>.
    const tag = (host: string) => crypto.createHash('sha256').update(host).digest('hex').slice(0, 8);
    const ours = `lock.tmp-${deadPid()}-${tag(os.hostname())}-0badcafe`;
    const theirs = `lock.tmp-${deadPid()}-${tag('other-host.example.com')}-0badcafe`;
    for (const name of [ours, theirs]) fs.writeFileSync(path.join(target, name), '{}');
    await (await acquireLock(target, { operation: 'full backup' })).release();
    expect(fs.readdirSync(target)).toEqual([theirs]);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(target, theirs), old, old);
    await (await acquireLock(target, { operation: 'full backup' })).release();
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('lets exactly one of 50 concurrent takers in this process have a stale lock', async () => {
    writeLock({});
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, () => acquireLock(target, { operation: 'race' })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(TargetLockedError);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
  });
});

describe('target lock across processes', () => {
  async function race(processes: number): Promise<string[]> {
    const children: ChildProcessWithoutNullStreams[] = [];
    const lines = (child: ChildProcessWithoutNullStreams): AsyncIterator<string> => {
      let buffer = '';
      const queue: string[] = [];
      const waiters: ((line: string) => void)[] = [];
      child.stdout.on('data', (data: Buffer) => {
        buffer += data.toString();
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          const waiter = waiters.shift();
          if (waiter) waiter(line);
          else queue.push(line);
        }
      });
      return {
        next: async () => ({
          value: queue.shift() ?? (await new Promise<string>((r) => waiters.push(r))),
          done: false,
        }),
      };
    };
    const readers = Array.from({ length: processes }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', racer, target]);
      children.push(child);
      return lines(child);
    });
    try {
      for (const reader of readers) expect((await reader.next()).value).toBe('ready');
      for (const child of children) child.stdin.write('go\n');
      return await Promise.all(readers.map(async (reader) => (await reader.next()).value as string));
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(
        children.map((child) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r)))),
      );
    }
  }

  it('lets exactly one of two processes have a free target', { timeout: 20_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const results = await race(2);
      expect(results.filter((r) => r === 'won')).toHaveLength(1);
      expect(results.filter((r) => r === 'lost TARGET_LOCKED')).toHaveLength(1);
      expect(await readLock(target)).toEqual({ state: 'free' });
    }
  });

  it('lets exactly one of two processes take over a stale lock', { timeout: 20_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      writeLock({ nonce: `${round}`.repeat(32) });
      const results = await race(2);
      expect(results.filter((r) => r === 'won')).toHaveLength(1);
      expect(results.filter((r) => r === 'lost TARGET_LOCKED')).toHaveLength(1);
    }
  });
});
