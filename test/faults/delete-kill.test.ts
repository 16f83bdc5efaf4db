import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveFileName, RedoLogFileWriter } from '../../src-main/engine/redolog';
import { deleteSessions, parseDeleteArgument } from '../../src-main/engine/target/delete-sessions';
import { acquireLock } from '../../src-main/engine/target/lock';
import type { RedoLogRecord } from '../../src-main/engine/target/manifest';
import { listSessions } from '../../src-main/engine/target/session-list';
import { SessionWriter } from '../../src-main/engine/target/session-writer';
import { verifyTarget } from '../../src-main/engine/verify/verify-target';
import { verifySessionFiles } from '../helpers/session-check';
import { sampleOps } from '../unit/redolog/sample-ops';
import { seeded, tree } from './fault-helpers';

/**
 * Issue 9: `zmbackup -del` killed with SIGKILL at seeded points: at each of its steps (a session
 * renamed out of sessions/, a redo log removed, a session's files removed) and at random
 * moments. After each kill no session looks complete but is not, verify accepts the target,
 * and the next delete finishes: the target ends exactly as an uninterrupted delete leaves it.
 */
const ROOT = path.resolve(__dirname, '../..');
const SERVER_ID = 'e00428a1-0c00-11d9-836a-000d93afea2a';
process.env.TZ = 'UTC';
const DAY = 86_400_000;
const T0 = Date.UTC(2021, 4, 1, 12);
/** Sessions before this go: 4 fulls and 4 incrementals of 8 each. */
const CUTOFF = '2021/05/05-00:00:00';
let work: string;
let pristine: string;
let expected: string[];

async function redoLog(dir: string, seq: number): Promise<RedoLogRecord> {
  const name = archiveFileName(T0 + seq * 1000, seq);
  const file = path.join(dir, name);
  const writer = await RedoLogFileWriter.create(file, { seq, serverId: SERVER_ID, createTime: T0 });
  for (const op of sampleOps()) writer.append(op);
  await writer.close();
  const bytes = fs.readFileSync(file);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  return { name, seq, bytes: bytes.length, sha256, firstOpMs: null, lastOpMs: null };
}

/** Day n: a full at noon (redo seq 2n+1 live), an incremental at 18:00 holding logs 2n+1, 2n+2. */
async function buildTarget(target: string): Promise<void> {
  const redologs = path.join(target, 'redologs');
  fs.mkdirSync(redologs, { recursive: true });
  for (let day = 0; day < 8; day++) {
    for (const type of ['full', 'incremental'] as const) {
      const startMs = T0 + day * DAY + (type === 'full' ? 0 : 6 * 3_600_000);
      const seq = 2 * day + 1;
      const lock = await acquireLock(target, { operation: 'test' });
      try {
        const writer = await SessionWriter.create(target, { type, lock, now: () => startMs });
        for (let f = 0; f < 5; f++) await writer.writeFile(`sys/file-${f}.txt`, `day ${day} ${type} ${f}\n`);
        const logs = type === 'full' ? [] : [await redoLog(redologs, seq), await redoLog(redologs, seq + 1)];
        await writer.commit({
          server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
          engineVersion: 'test',
          status: 'completed',
          redo: { seq: { min: seq, max: type === 'full' ? seq : seq + 1 }, timeMs: null },
          options: { zip: 'store', blobs: true, index: true },
          accounts: [],
          errors: [],
          redoLogs: logs,
          endMs: startMs + 1000,
        });
      } finally {
        await lock.release();
      }
    }
  }
}

function runDelete(target: string, failpoint: string | null, killAfterMs: number | null) {
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        path.join(ROOT, 'src-main/cli/main.ts'),
        'zmbackup',
        '-del',
        CUTOFF,
        '-t',
        target,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, TZ: 'UTC', MAILVAULT_FAILPOINT: failpoint ?? '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === null ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-delkill-'));
  pristine = path.join(work, 'pristine');
  await buildTarget(pristine);
  expect((await verifyTarget(pristine)).intact).toBe(true);
  // The oracle: what an uninterrupted delete leaves.
  const oracle = path.join(work, 'oracle');
  fs.cpSync(pristine, oracle, { recursive: true });
  const plan = await deleteSessions(oracle, parseDeleteArgument(CUTOFF));
  expect(plan.sessions).toHaveLength(8);
  expect(plan.redoLogs).toHaveLength(8);
  expected = tree(oracle);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** What must hold after a kill: every complete session whole, and verify content. */
async function checkAfterKill(target: string, what: string): Promise<void> {
  for (const session of await listSessions(target)) {
    if (session.state !== 'complete') continue;
    await verifySessionFiles(session.dir, session.manifest!);
  }
  const verdict = await verifyTarget(target);
  expect(verdict.findings, what).toEqual([]);
  expect(verdict.intact, what).toBe(true);
}

describe('zmbackup -del killed with SIGKILL', () => {
  // 8 renames + 8 logs + 8 removals = 24 steps; kill at 20 seeded ones, and at 4 seeded moments.
  const rand = seeded(20211);
  const steps = Array.from({ length: 20 }, () => 1 + Math.floor(rand() * 24));
  const moments = Array.from({ length: 4 }, () => Math.floor(rand() * 1500));

  it.each(steps.map((s, i) => [i, s]))(
    'kill %i at step %i: nothing half-deleted is listed, and the next delete finishes exactly',
    async (i, step) => {
      const target = path.join(work, `step-${i}`);
      fs.cpSync(pristine, target, { recursive: true });
      const killed = await runDelete(target, `delete-step:${step}`, null);
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      await checkAfterKill(target, `after a kill at step ${step}`);
      // The next delete, in this process (the CLI's path was just exercised by the killed run).
      await deleteSessions(target, parseDeleteArgument(CUTOFF));
      expect(tree(target)).toEqual(expected);
      await checkAfterKill(target, 'after the next delete');
      fs.rmSync(target, { recursive: true, force: true });
    },
  );

  it.each(moments.map((ms, i) => [i, ms]))(
    'kill %i at %i ms (start-up included): the same',
    async (i, ms) => {
      const target = path.join(work, `moment-${i}`);
      fs.cpSync(pristine, target, { recursive: true });
      await runDelete(target, null, ms);
      await checkAfterKill(target, `after a kill at ${ms} ms`);
      await deleteSessions(target, parseDeleteArgument(CUTOFF));
      expect(tree(target)).toEqual(expected);
      fs.rmSync(target, { recursive: true, force: true });
    },
  );
});
