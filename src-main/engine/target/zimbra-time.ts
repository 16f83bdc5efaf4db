/**
 * Date/times as Zimbra's tools take them (SoapCLI.parseDatetime, zimbra-facts §1): nine formats,
 * in the local time zone, plus zmbackup -del's date-only `yyyy/MM/dd`, the seed's
 * `yyyy/MM/dd HH:mm:ss:SSS`, and ages `N{d|m|y}` counted back from now on the local calendar.
 * Written by hand: no date library reads Java's patterns, and the set is small and fixed.
 */
const FORMATS: Array<{ pattern: RegExp; name: string }> = [
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/, name: 'yyyy/MM/dd HH:mm:ss' },
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{3})$/, name: 'yyyy/MM/dd HH:mm:ss SSS' },
  {
    pattern: /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/,
    name: 'yyyy/MM/dd HH:mm:ss.SSS',
  },
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}):(\d{3})$/, name: 'yyyy/MM/dd HH:mm:ss:SSS' },
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})-(\d{3})$/, name: 'yyyy/MM/dd-HH:mm:ss-SSS' },
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})$/, name: 'yyyy/MM/dd-HH:mm:ss' },
  { pattern: /^(\d{4})(\d{2})(\d{2})\.(\d{2})(\d{2})(\d{2})\.(\d{3})$/, name: 'yyyyMMdd.HHmmss.SSS' },
  { pattern: /^(\d{4})(\d{2})(\d{2})\.(\d{2})(\d{2})(\d{2})$/, name: 'yyyyMMdd.HHmmss' },
  { pattern: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/, name: 'yyyyMMddHHmmssSSS' },
  { pattern: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/, name: 'yyyyMMddHHmmss' },
  { pattern: /^(\d{4})\/(\d{2})\/(\d{2})$/, name: 'yyyy/MM/dd' },
];

export class TimeArgumentError extends Error {}

/** Milliseconds since the epoch of a local date/time in one of the formats above. */
export function parseZimbraTime(value: string): number {
  for (const { pattern } of FORMATS) {
    const m = pattern.exec(value.trim());
    if (!m) continue;
    const [y, mo, d, h = 0, mi = 0, s = 0, ms = 0] = m
      .slice(1)
      .map((part) => (part === undefined ? undefined : Number(part))) as number[];
    const date = new Date(y!, mo! - 1, d!, h, mi, s, ms);
    // Date rolls 2021/02/30 over to March: a value that does not come back out does not exist.
    if (
      date.getFullYear() !== y ||
      date.getMonth() !== mo! - 1 ||
      date.getDate() !== d ||
      date.getHours() !== h ||
      date.getMinutes() !== mi ||
      date.getSeconds() !== s
    )
      throw new TimeArgumentError(`${value}: no such date or time`);
    return date.getTime();
  }
  throw new TimeArgumentError(
    `${value}: not a date/time (e.g. 2021/07/12 15:59:51, 20210712.155951, or 2021/07/12)`,
  );
}

/** `7d`, `1m`, `2y`: that long before `now`, on the local calendar; null if not an age. */
export function parseAge(value: string, now: number): number | null {
  const m = /^(\d+)([dmy])$/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  // Beyond what a date can hold (a typo like 99999999y) is not an age.
  if (!Number.isSafeInteger(n) || n > 1_000_000) return null;
  const date = new Date(now);
  if (m[2] === 'd') {
    date.setDate(date.getDate() - n);
    return date.getTime();
  }
  // Months and years clamp the day to the target month, as Java's Calendar.add does:
  // a month before 31 March is 28 (or 29) February, not 3 March.
  const months = date.getFullYear() * 12 + date.getMonth() - (m[2] === 'm' ? n : 12 * n);
  const year = Math.floor(months / 12);
  const month = months - year * 12;
  const lastDay = new Date(year, month + 1, 0).getDate();
  return new Date(
    year,
    month,
    Math.min(date.getDate(), lastDay),
    date.getHours(),
    date.getMinutes(),
    date.getSeconds(),
    date.getMilliseconds(),
  ).getTime();
}
