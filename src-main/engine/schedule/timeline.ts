import type { ListedAttempt } from './attempts';
import { cronTimesBetween, nextCronTimes } from './cron-expression';
import type { EntryKind, ScheduleEntry } from './schedule';

/**
 * A schedule on the console's timeline: the runs to come, and the runs that should have happened
 * but left no attempt (the machine was off, cron was stopped) so they are shown, not skipped.
 */
export interface PlannedRun {
  kind: EntryKind;
  atMs: number;
  entry: ScheduleEntry;
}

/** The next `count` runs of the whole schedule after `fromMs`, in time order. */
export function nextRuns(entries: ScheduleEntry[], fromMs: number, count: number): PlannedRun[] {
  return entries
    .flatMap((entry) =>
      nextCronTimes(entry.cron, fromMs, count).map((atMs) => ({ kind: entry.kind, atMs, entry })),
    )
    .sort((a, b) => a.atMs - b.atMs)
    .slice(0, count);
}

/**
 * Planned runs in (fromMs, toMs] with no attempt of the same kind started within `graceMs` after
 * the planned time (cron starts jobs within the minute; a busy machine may be later).
 */
export function missedRuns(
  entries: ScheduleEntry[],
  attempts: ListedAttempt[],
  fromMs: number,
  toMs: number,
  graceMs = 15 * 60_000,
): PlannedRun[] {
  const missed: PlannedRun[] = [];
  for (const entry of entries)
    for (const atMs of cronTimesBetween(entry.cron, fromMs, toMs)) {
      if (atMs + graceMs > toMs) continue; // still within its grace time: not missed yet
      const ran = attempts.some(
        (a) => a.kind === entry.kind && a.startMs >= atMs && a.startMs <= atMs + graceMs,
      );
      if (!ran) missed.push({ kind: entry.kind, atMs, entry });
    }
  return missed.sort((a, b) => a.atMs - b.atMs);
}
