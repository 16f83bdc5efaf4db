import type { ScheduleEntryInput } from '../src-main/api/contract';

/**
 * Schedule entries as people read them ("Full — Saturdays 01:00") and the simple form of a cron
 * time the Schedule screen edits with pickers: minute and hour fixed, any day of the month and
 * month, a set of weekdays. Anything else is shown and edited as the cron text itself.
 */
export const KIND_LABEL: Record<ScheduleEntryInput['kind'], string> = {
  full: 'Full',
  incremental: 'Incremental',
  delete: 'Delete old',
};

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface SimpleTime {
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
}

function dayNumber(word: string): number | null {
  if (/^\d+$/.test(word)) {
    const n = Number(word);
    return n === 7 ? 0 : n <= 6 ? n : null;
  }
  const i = NAMES.indexOf(word.toLowerCase());
  return i >= 0 ? i : null;
}

/** The days of a day-of-week field (`*`, lists, ranges, names); null when it is something else. */
function daysOf(field: string): number[] | null {
  if (field === '*') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const [a, b, extra] = part.split('-');
    if (extra !== undefined || a === undefined) return null;
    const from = dayNumber(a);
    const to = b === undefined ? from : dayNumber(b);
    if (from === null || to === null) return null;
    // 1-7 ends on Sunday (7): walk the week from `from` to `to`.
    const end = b !== undefined && /^7$/.test(b) ? 7 : to;
    if (end < from) return null;
    for (let d = from; d <= end; d++) days.add(d % 7);
  }
  return [...days].sort((x, y) => x - y);
}

export function simpleOf(cron: string): SimpleTime | null {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5 || f[2] !== '*' || f[3] !== '*') return null;
  if (!/^\d{1,2}$/.test(f[0]!) || !/^\d{1,2}$/.test(f[1]!)) return null;
  const minute = Number(f[0]);
  const hour = Number(f[1]);
  const days = daysOf(f[4]!);
  if (minute > 59 || hour > 23 || !days || days.length === 0) return null;
  return { hour, minute, days };
}

/** Back to cron: runs of days as ranges (1-5), every day as `*`. */
export function cronOf(t: SimpleTime): string {
  const days = [...new Set(t.days)].sort((a, b) => a - b);
  let dow = '*';
  if (days.length < 7) {
    const parts: string[] = [];
    for (let i = 0; i < days.length;) {
      let j = i;
      while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j++;
      parts.push(j - i >= 2 ? `${days[i]}-${days[j]}` : days.slice(i, j + 1).join(','));
      i = j + 1;
    }
    dow = parts.join(',');
  }
  return `${t.minute} ${t.hour} * * ${dow}`;
}

const pad = (n: number) => String(n).padStart(2, '0');

function daysText(days: number[]): string {
  const key = days.join(',');
  if (days.length === 7) return 'Every day';
  if (key === '1,2,3,4,5') return 'Weekdays';
  if (key === '0,6') return 'Weekends';
  if (days.length === 1) return `${DAYS[days[0]!]}s`;
  // A run of days, as Zimbra's default writes it (0-5: Sunday to Friday).
  const run = days.every((d, i) => i === 0 || d === days[i - 1]! + 1);
  if (run && days.length > 2) return `${DAYS[days[0]!]} to ${DAYS[days.at(-1)!]}`;
  return days.map((d) => DAYS[d]!.slice(0, 3)).join(', ');
}

/** "Saturdays 01:00", "Every day 00:00", or the cron text when it is not that simple. */
export function whenText(cron: string): string {
  const t = simpleOf(cron);
  if (!t) return `cron ${cron}`;
  return `${daysText(t.days)} ${pad(t.hour)}:${pad(t.minute)}`;
}

const AGE_UNIT: Record<string, string> = { d: 'day', m: 'month', y: 'year' };

/** "Full — Saturdays 01:00", "Delete old — older than 1 month, every day 00:00". */
export function entryText(e: ScheduleEntryInput): string {
  const when = whenText(e.cron);
  if (e.kind !== 'delete' || !e.age) return `${KIND_LABEL[e.kind]} — ${when}`;
  const m = /^(\d+)([dmy])$/.exec(e.age);
  const age = m ? `${m[1]} ${AGE_UNIT[m[2]!]}${m[1] === '1' ? '' : 's'}` : e.age;
  return `${KIND_LABEL[e.kind]} — older than ${age}, ${when.charAt(0).toLowerCase()}${when.slice(1)}`;
}
