import type { ScheduleRun, ServerSchedule, SessionInfo } from '../../src-main/api/contract';

/** A made-up year of one server's backups, for the timeline's end-to-end test and bench/console-paint.ts. */
const HOUR = 3_600_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function label(type: 'full' | 'incremental', ms: number): string {
  const d = new Date(ms);
  return `${type === 'full' ? 'full' : 'incr'}-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** A year of one server's sessions, `count` of them, oldest first. */
export function yearOfSessions(count: number, now: number): SessionInfo[] {
  const span = 365 * 24 * HOUR;
  const step = span / count;
  const sessions: SessionInfo[] = [];
  let seq = 1;
  for (let i = 0; i < count; i++) {
    const startMs = Math.round(now - span + i * step);
    const full = i % 96 === 0;
    const logs = full ? 0 : 2;
    if (i === 2500) seq += 5; // logs lost once: a gap
    const status = i % 997 === 13 ? 'failed' : i % 211 === 7 ? 'completed with errors' : 'completed';
    sessions.push({
      label: label(full ? 'full' : 'incremental', startMs),
      type: full ? 'full' : 'incremental',
      startMs,
      endMs: startMs + (full ? 40 * 60_000 : 90_000),
      status,
      hostname: 'mail1.example.com',
      accounts: 420,
      accountErrors: status === 'completed with errors' ? 1 : 0,
      bytes: full ? 80e9 : 300e6,
      errors: status === 'completed' ? [] : ['anna@example.com: mailbox locked'],
      redoLogs: logs,
      redoTimeMs: full ? null : { fromMs: startMs - step, toMs: startMs },
      redoSeq: full ? { min: seq, max: seq } : { min: seq, max: seq + logs - 1 },
    });
    seq += logs;
  }
  return sessions;
}

/**
 * What schedules.get answers for a server on Zimbra's default schedule (full Saturday 01:00,
 * incremental Sunday–Friday 01:00, delete at midnight) whose machine was off the last two nights:
 * the next week's runs and those two nights' runs missed.
 */
export function defaultScheduleOf(serverId: string, now: number): ServerSchedule {
  const DAY = 24 * HOUR;
  const at = (day: number, hour: number) => {
    const d = new Date(now + day * DAY);
    d.setHours(hour, 0, 0, 0);
    return d.getTime();
  };
  const kindOn = (ms: number): ScheduleRun['kind'] => (new Date(ms).getDay() === 6 ? 'full' : 'incremental');
  const runs = (days: number[]): ScheduleRun[] =>
    days.flatMap((day) => [
      { kind: 'delete' as const, atMs: at(day, 0) },
      { kind: kindOn(at(day, 1)), atMs: at(day, 1) },
    ]);
  const entries = [
    { kind: 'full' as const, cron: '0 1 * * 6', zimbra: 'f 0 1 * * 6' },
    { kind: 'incremental' as const, cron: '0 1 * * 0-5', zimbra: 'i 0 1 * * 0-5' },
    { kind: 'delete' as const, cron: '0 0 * * *', age: '1m', zimbra: 'd 1m 0 0 * * *' },
  ];
  return {
    serverId,
    entries,
    zimbra: entries.map((e) => e.zimbra).join('\n'),
    command: 'mailvault zmschedulebackup -R f "0 1 * * 6" i "0 1 * * 0-5" d 1m "0 0 * * *"',
    place: { kind: 'server', where: 'this machine', crontab: 'crontab' },
    next: runs([1, 2, 3, 4, 5, 6, 7]).filter((r) => r.atMs > now && r.atMs <= now + 7 * DAY),
    missed: runs([-2, -1]).filter((r) => r.atMs < now - HOUR),
    attempts: [],
    problems: [],
  };
}
