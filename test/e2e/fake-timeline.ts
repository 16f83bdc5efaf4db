import type { SessionInfo } from '../../src-main/api/contract';

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
