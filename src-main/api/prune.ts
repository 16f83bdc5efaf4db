import {
  DeleteArgumentError,
  deleteSessions,
  planDelete,
  type DeletePlan,
  type DeleteSpec,
} from '../engine/target/delete-sessions';
import { TargetLockedError } from '../engine/target/lock';
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

function planOf(plan: DeletePlan, spec: DeleteSpec): PrunePlan {
  return {
    sessions: plan.sessions.map((s) => s.label),
    redoLogs: plan.redoLogs,
    ...(spec.kind === 'before' ? { cutoffMs: spec.timeMs } : {}),
  };
}

export async function previewPrune(target: string, rule: PruneRule): Promise<PrunePlan> {
  const spec = specOf(rule);
  try {
    return planOf(await planDelete(target, spec), spec);
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
