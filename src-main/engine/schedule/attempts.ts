import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../target/durable-fs';
import { targetPaths } from '../target/layout';
import { lockHolderLiveness, processStartTicks, currentBootId } from '../target/lock-holder';

/**
 * Every unattended run (zmbackup --unattended, as the crontab lines start it) leaves one record
 * in `<target>/attempts/`, written when it starts and again when it ends, so a run that never
 * got as far as a session (target locked, server unreachable) is still on record, and a run that
 * died shows as interrupted. The console reads these with listAttempts.
 */
export const attemptSchema = z.object({
  id: z.string(),
  kind: z.enum(['full', 'incremental', 'delete']),
  server: z.string(),
  hostname: z.string(),
  pid: z.int(),
  bootId: z.string().nullable(),
  processStartTicks: z.string().nullable(),
  startMs: z.int(),
  endMs: z.int().nullable(),
  status: z.enum(['running', 'succeeded', 'failed']),
  exitCode: z.int().nullable(),
  /** Sessions the run wrote (an incremental may also write a full for new accounts). */
  labels: z.array(z.string()),
  error: z.string().nullable(),
  report: z.object({ sent: z.boolean(), to: z.array(z.string()), error: z.string().nullable() }).nullable(),
});
export type Attempt = z.infer<typeof attemptSchema>;
/** As listed: a 'running' record whose process is gone is shown as interrupted. */
export type ListedAttempt = Omit<Attempt, 'status'> & { status: Attempt['status'] | 'interrupted' };

export function attemptsDir(target: string): string {
  return path.join(targetPaths(target).root, 'attempts');
}

function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}.${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export interface AttemptRecorder {
  readonly attempt: Attempt;
  finish(outcome: Pick<Attempt, 'exitCode' | 'labels' | 'error' | 'report'>): Promise<Attempt>;
}

export async function startAttempt(
  target: string,
  info: { kind: Attempt['kind']; server: string; nowMs?: number },
): Promise<AttemptRecorder> {
  const startMs = info.nowMs ?? Date.now();
  const id = `${stamp(startMs)}-${info.kind}-${process.pid}`;
  const file = path.join(attemptsDir(target), `${id}.json`);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  let attempt: Attempt = {
    id,
    kind: info.kind,
    server: info.server,
    hostname: os.hostname(),
    pid: process.pid,
    bootId: currentBootId(),
    processStartTicks: processStartTicks(process.pid),
    startMs,
    endMs: null,
    status: 'running',
    exitCode: null,
    labels: [],
    error: null,
    report: null,
  };
  await writeFileAtomic(file, `${JSON.stringify(attempt, null, 2)}\n`);
  return {
    get attempt() {
      return attempt;
    },
    async finish(outcome) {
      attempt = {
        ...attempt,
        ...outcome,
        endMs: Date.now(),
        status: outcome.exitCode === 0 && outcome.error === null ? 'succeeded' : 'failed',
      };
      await writeFileAtomic(file, `${JSON.stringify(attempt, null, 2)}\n`);
      // Each finished run tidies the records; failing to is no reason to fail the run.
      await pruneAttempts(target).catch(() => undefined);
      return attempt;
    },
  };
}

/** Every attempt recorded in the target, oldest first; unreadable records are skipped. */
export async function listAttempts(target: string): Promise<ListedAttempt[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(attemptsDir(target));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: ListedAttempt[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    try {
      const text = await fs.promises.readFile(path.join(attemptsDir(target), name), 'utf8');
      const attempt = attemptSchema.parse(JSON.parse(text));
      const dead =
        attempt.status === 'running' &&
        lockHolderLiveness({
          pid: attempt.pid,
          hostname: attempt.hostname,
          startedMs: attempt.startMs,
          operation: attempt.kind,
          label: null,
          nonce: '0'.repeat(16),
          bootId: attempt.bootId,
          processStartTicks: attempt.processStartTicks,
        }) === 'dead';
      out.push(dead ? { ...attempt, status: 'interrupted' } : attempt);
    } catch {
      continue; // a record being replaced, or not ours
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** How long attempt records are kept, and how many of each server's newest are kept past that. */
export const ATTEMPT_RETENTION = { maxAgeMs: 90 * 24 * 3600_000, keepNewestPerServer: 20 };

/**
 * Drops old attempt records, so a target under an hourly schedule does not gather thousands of
 * them: every record younger than 90 days stays (the console's missed-run view looks back a week),
 * and of older ones the newest 20 of each server stay, so a server backed up rarely keeps its
 * history. A record still running is never removed. Returns the ids removed.
 */
export async function pruneAttempts(
  target: string,
  nowMs = Date.now(),
  retention = ATTEMPT_RETENTION,
): Promise<string[]> {
  const all = await listAttempts(target);
  const newestByServer = new Map<string, Set<string>>();
  for (const a of [...all].reverse()) {
    const kept = newestByServer.get(a.server) ?? new Set<string>();
    if (kept.size < retention.keepNewestPerServer) kept.add(a.id);
    newestByServer.set(a.server, kept);
  }
  const removed: string[] = [];
  for (const a of all) {
    if (a.status === 'running' || a.startMs >= nowMs - retention.maxAgeMs) continue;
    if (newestByServer.get(a.server)?.has(a.id)) continue;
    await fs.promises.rm(path.join(attemptsDir(target), `${a.id}.json`), { force: true });
    removed.push(a.id);
  }
  return removed;
}
