import fs from 'node:fs';
import path from 'node:path';
import { InvalidLabelError } from './errors';
import { targetPaths } from './layout';

/**
 * Session labels: `full-YYYYMMDD.HHMMSS.mmm` or `incr-YYYYMMDD.HHMMSS.mmm`, the session's start
 * time in GMT to the millisecond (Zimbra's own format). GMT, because local time repeats an hour
 * when daylight saving ends and two sessions would get the same label. Labels of one type sort
 * as strings in time order.
 */
export type SessionType = 'full' | 'incremental';

export interface ParsedLabel {
  label: string;
  type: SessionType;
  /** Start of the session, ms since the epoch. */
  startMs: number;
}

const PREFIX: Record<SessionType, string> = { full: 'full', incremental: 'incr' };
const LABEL_PATTERN = /^(full|incr)-(\d{4})(\d{2})(\d{2})\.(\d{2})(\d{2})(\d{2})\.(\d{3})$/;
// Four-digit years only, as the format has room for: 1970-01-01 … 9999-12-31 GMT.
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function formatLabel(type: SessionType, startMs: number): string {
  if (!Number.isInteger(startMs) || startMs < 0 || startMs > MAX_MS) {
    throw new InvalidLabelError(
      String(startMs),
      'a label time must be a whole number of ms between 1970 and 9999 GMT',
    );
  }
  const d = new Date(startMs);
  return (
    `${PREFIX[type]}-${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}` +
    `.${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** Parses a label; anything else (other prefixes, impossible dates, extra characters) throws. */
export function parseLabel(label: string): ParsedLabel {
  const m = LABEL_PATTERN.exec(label);
  if (!m) throw new InvalidLabelError(label);
  const [y, mo, d, h, mi, s, ms] = m.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const startMs = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const type: SessionType = m[1] === 'full' ? 'full' : 'incremental';
  // Date.UTC rolls 20210230 over to March; a label must name a real instant exactly.
  if (Number.isNaN(startMs) || startMs < 0 || startMs > MAX_MS || formatLabel(type, startMs) !== label) {
    throw new InvalidLabelError(label, 'no such date and time');
  }
  return { label, type, startMs };
}

export function isLabel(value: string): boolean {
  try {
    parseLabel(value);
    return true;
  } catch {
    return false;
  }
}

/** Returns the label unchanged, or throws InvalidLabelError naming it. */
export function assertLabel(value: string): string {
  parseLabel(value);
  return value;
}

/** Orders labels by start time; at the same millisecond a full comes before an incremental. */
export function compareLabels(a: string, b: string): number {
  const pa = parseLabel(a);
  const pb = parseLabel(b);
  return pa.startMs - pb.startMs || (pa.type === pb.type ? 0 : pa.type === 'full' ? -1 : 1);
}

/**
 * A new label for a session starting now, reserved on the target: `tmp/<label>/` is created
 * (mkdir is atomic, so of several creators exactly one gets a given label) and belongs to the
 * caller from then on. A label that is taken, in tmp/ or in sessions/, is bumped by 1 ms.
 */
export async function newLabel(
  type: SessionType,
  target: string,
  now: () => number = Date.now,
): Promise<string> {
  const { sessions, tmp } = targetPaths(target);
  await fs.promises.mkdir(tmp, { recursive: true });
  let startMs = now();
  for (let attempt = 0; attempt < 100_000; attempt++, startMs++) {
    const label = formatLabel(type, startMs);
    try {
      // Owner only: a session holds every mailbox and the server's localconfig.xml (passwords).
      await fs.promises.mkdir(path.join(tmp, label), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    // Checked after reserving: a session committed (tmp → sessions) before our mkdir is seen
    // here; one committed after it cannot have had this label, since tmp/<label> was ours.
    if (await exists(path.join(sessions, label))) {
      await fs.promises.rmdir(path.join(tmp, label));
      continue;
    }
    return label;
  }
  throw new Error(`Could not reserve a session label in ${tmp}: 100000 consecutive labels are taken`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.lstat(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
