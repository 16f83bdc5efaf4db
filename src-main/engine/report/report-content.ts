import type { Manifest } from '../target/manifest';

/**
 * The report mail of one run (zmbackup --mail-report): subject `<prefix>: SUCCESS|FAIL`, and a
 * plain-text body an administrator reads on a phone: server, label, type, status, start and end,
 * redo range, accounts done of total, and the errors (the first ten, then how many more).
 */
export interface SessionSummary {
  label: string;
  type: 'full' | 'incremental';
  status: string;
  startMs: number;
  endMs: number;
  redo: Manifest['redo'];
  accountsDone: number;
  accountsTotal: number;
  errors: string[];
}

export interface RunReport {
  server: string;
  kind: 'full' | 'incremental' | 'delete';
  target: string;
  startMs: number;
  endMs: number;
  exitCode: number;
  /** Sessions the run wrote (an incremental can also take a full of new accounts). */
  sessions: SessionSummary[];
  /** What stopped the run, if anything did. */
  error: string | null;
  /** For a delete: the sessions removed. */
  deleted?: string[];
}

export const MAX_LISTED_ERRORS = 10;

export function summarizeManifest(manifest: Manifest): SessionSummary {
  return {
    label: manifest.label,
    type: manifest.type,
    status: manifest.status,
    startMs: manifest.startMs,
    endMs: manifest.endMs,
    redo: manifest.redo,
    accountsDone: manifest.accounts.filter((a) => a.status === 'COMPLETED').length,
    accountsTotal: manifest.accounts.length,
    errors: manifest.errors.map((e) => (e.email ? `${e.email}: ${e.message}` : e.message)),
  };
}

export function succeeded(run: RunReport): boolean {
  return run.exitCode === 0 && run.error === null && run.sessions.every((s) => s.status === 'completed');
}

export function reportSubject(prefix: string, run: RunReport): string {
  return `${prefix}: ${succeeded(run) ? 'SUCCESS' : 'FAIL'}`;
}

function time(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const zone = `${offset >= 0 ? '+' : '-'}${p(Math.floor(Math.abs(offset) / 60))}${p(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

function redoRange(redo: Manifest['redo']): string {
  if (!redo.seq && !redo.timeMs) return 'none';
  const parts: string[] = [];
  if (redo.seq) parts.push(`sequence ${redo.seq.min}-${redo.seq.max}`);
  if (redo.timeMs) parts.push(`${time(redo.timeMs.min)} to ${time(redo.timeMs.max)}`);
  return parts.join(', ');
}

function errorLines(errors: string[]): string[] {
  if (errors.length === 0) return ['Errors: none'];
  const lines = [`Errors: ${errors.length}`, ...errors.slice(0, MAX_LISTED_ERRORS).map((e) => `  - ${e}`)];
  if (errors.length > MAX_LISTED_ERRORS) lines.push(`  ... and ${errors.length - MAX_LISTED_ERRORS} more`);
  return lines;
}

export function reportBody(run: RunReport): string {
  const lines = [
    `Server: ${run.server}`,
    `Operation: ${run.kind === 'delete' ? 'delete old backups' : `${run.kind} backup`}`,
    `Result: ${succeeded(run) ? 'SUCCESS' : 'FAIL'} (exit status ${run.exitCode})`,
    `Target: ${run.target}`,
    `Started: ${time(run.startMs)}`,
    `Ended: ${time(run.endMs)}`,
  ];
  if (run.error) lines.push(`Error: ${run.error}`);
  for (const s of run.sessions) {
    lines.push(
      '',
      `Label: ${s.label}`,
      `Type: ${s.type}`,
      `Status: ${s.status}`,
      `Start: ${time(s.startMs)}`,
      `End: ${time(s.endMs)}`,
      `Redo range: ${redoRange(s.redo)}`,
      `Accounts: ${s.accountsDone}/${s.accountsTotal} done`,
      ...errorLines(s.errors),
    );
  }
  if (run.kind !== 'delete' && run.sessions.length === 0) lines.push('', 'No session was written.');
  if (run.deleted)
    lines.push('', `Deleted sessions: ${run.deleted.length}`, ...run.deleted.map((l) => `  - ${l}`));
  return `${lines.join('\n')}\n`;
}
