import { CronExpressionParser } from 'cron-parser';

/**
 * The five-field time of a crontab line, as Debian's cron (Vixie cron) reads it: numbers,
 * `*`, ranges, lists, steps, and month/day names. cron-parser checks the values; this file first
 * refuses what cron-parser would take but cron would not (seconds fields, `L`, `#`, `?`, `H`).
 */
export class CronExpressionError extends Error {}

const FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const NAMES = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i;

function checkField(value: string, field: (typeof FIELDS)[number], expression: string): void {
  for (const part of value.split(',')) {
    const [range, step, extra] = part.split('/');
    const ok =
      extra === undefined &&
      (step === undefined || /^\d+$/.test(step)) &&
      range !== undefined &&
      (range === '*' ||
        (range.split('-').length <= 2 &&
          range.split('-').every((bound) => /^\d+$/.test(bound) || NAMES.test(bound))));
    if (!ok) throw new CronExpressionError(`"${expression}": bad ${field} field "${value}"`);
  }
}

/** Throws CronExpressionError naming the expression and what is wrong with it. */
export function validateCron(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '')
    throw new CronExpressionError(
      `"${expression}": a schedule needs five fields (minute hour day-of-month month day-of-week), e.g. "0 1 * * 6"`,
    );
  fields.forEach((value, i) => checkField(value, FIELDS[i]!, expression));
  try {
    CronExpressionParser.parse(fields.join(' '), { strict: false });
  } catch (error) {
    throw new CronExpressionError(`"${expression}": ${(error as Error).message}`);
  }
  return fields.join(' ');
}

/** The next `count` times (ms) the expression fires after `fromMs`, in the local time zone as cron does. */
export function nextCronTimes(expression: string, fromMs: number, count: number): number[] {
  const parsed = CronExpressionParser.parse(validateCron(expression), { currentDate: new Date(fromMs) });
  return parsed.take(count).map((date) => date.getTime());
}

/** Every time the expression fired in (fromMs, toMs], oldest first, at most `limit`. */
export function cronTimesBetween(expression: string, fromMs: number, toMs: number, limit = 1000): number[] {
  const parsed = CronExpressionParser.parse(validateCron(expression), {
    currentDate: new Date(fromMs),
    endDate: new Date(toMs),
  });
  const times: number[] = [];
  while (times.length < limit && parsed.hasNext()) times.push(parsed.next().getTime());
  return times;
}
