import {
  DeleteArgumentError,
  deleteSessions,
  planDelete,
  type DeletePlan,
  type DeleteSpec,
} from '../engine/target/delete-sessions';
import { TargetLockedError } from '../engine/target/lock';
import { listSessions, type SessionListing } from '../engine/target/session-list';
import type { PrunePlan, PruneRule } from './contract';
import { ApiFailure } from './failure';

/**
 * Prune, as `zmbackup -del` does it (engine/target/delete-sessions.ts): by label, that session
 * and every earlier one; by age, every session that began before now minus the age. The engine
 * takes the target's lock, so a prune never runs beside a backup of the same target.
 */
export function specOf(rule: PruneRule, now = Date.now()): DeleteSpec {
  if (rule.kind === 'label') return { kind: 'label', label: rule.label };
  const date = new Date(now);
  const n = rule.amount;
  if (rule.unit === 'minutes') date.setMinutes(date.getMinutes() - n);
  else if (rule.unit === 'hours') date.setHours(date.getHours() - n);
  else if (rule.unit === 'days') date.setDate(date.getDate() - n);
  else {
    // Months and years keep the day where it exists (31 March minus a month is 28/29 February).
    const day = date.getDate();
    date.setDate(1);
    date.setMonth(date.getMonth() - (rule.unit === 'months' ? n : 12 * n));
    date.setDate(Math.min(day, new Date(date.getFullYear(), date.getMonth() + 1, 0).getDate()));
  }
  return { kind: 'before', timeMs: date.getTime(), what: `older than ${n} ${rule.unit}` };
}

function planOf(plan: DeletePlan, spec: DeleteSpec, remaining: SessionListing[] = []): PrunePlan {
  const warnings = orphanWarnings(plan, remaining);
  return {
    sessions: plan.sessions.map((s) => s.label),
    redoLogs: plan.redoLogs,
    ...(spec.kind === 'before' ? { cutoffMs: spec.timeMs } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Incrementals that would be left with no usable full before them (per server): their redo logs
 * have nothing to be replayed onto, so no restore can use them.
 */
function orphanWarnings(plan: DeletePlan, all: SessionListing[]): string[] {
  const gone = new Set(plan.sessions.map((s) => s.label));
  const kept = all.filter((s) => !gone.has(s.label) && s.manifest);
  const warnings: string[] = [];
  const hosts = new Set(kept.map((s) => s.manifest!.server.hostname));
  for (const host of hosts) {
    const mine = kept.filter((s) => s.manifest!.server.hostname === host);
    const firstFull = mine.find(
      (s) => s.type === 'full' && s.manifest!.status !== 'failed' && s.manifest!.status !== 'aborted',
    );
    const orphans = mine.filter(
      (s) => s.type === 'incremental' && (!firstFull || s.startMs < firstFull.startMs),
    );
    if (orphans.length > 0 && plan.sessions.some((s) => s.type === 'full'))
      warnings.push(
        `${orphans.length} incremental(s) of ${host} would remain with no full backup before them (first: ${orphans[0]!.label}): they cannot be restored from until the next full.`,
      );
  }
  return warnings;
}

export async function previewPrune(target: string, rule: PruneRule): Promise<PrunePlan> {
  const spec = specOf(rule);
  try {
    return planOf(await planDelete(target, spec), spec, await listSessions(target));
  } catch (error) {
    throw asFailure(error);
  }
}

export async function runPrune(target: string, rule: PruneRule): Promise<PrunePlan> {
  const spec = specOf(rule);
  try {
    return planOf(await deleteSessions(target, spec), spec);
  } catch (error) {
    throw asFailure(error);
  }
}

function asFailure(error: unknown): unknown {
  if (error instanceof TargetLockedError)
    return new ApiFailure('conflict', `Nothing was deleted: ${error.message}`);
  if (error instanceof DeleteArgumentError) return new ApiFailure('bad-request', error.message);
  return error;
}
