import { parseAge } from '../target/zimbra-time';
import { optionArgv, serverArgv } from './backup-argv';
import { CronExpressionError, validateCron } from './cron-expression';
import { KIND_LETTER, type BackupOptions, type ScheduledServer, type ScheduleEntry } from './schedule';

/**
 * zmschedulebackup's own syntax (zimbra-facts §1.8): the entries `f "<cron>"`, `i "<cron>"`,
 * `d <Nd|Nm|Ny> "<cron>"` as arguments, the -q listing, and the -s one-line command that
 * recreates the schedule.
 */
export class ScheduleSyntaxError extends Error {}

/** Parses the entry arguments; each entry takes the pass-through options given with the command. */
export function parseEntries(words: string[], options: BackupOptions): ScheduleEntry[] {
  const entries: ScheduleEntry[] = [];
  for (let i = 0; i < words.length;) {
    const letter = words[i]!;
    const kind = letter === 'f' ? 'full' : letter === 'i' ? 'incremental' : letter === 'd' ? 'delete' : null;
    if (!kind) throw new ScheduleSyntaxError(`${letter}: not a backup type (f, i or d "<cron>")`);
    let age: string | undefined;
    if (kind === 'delete') {
      age = words[i + 1];
      if (age === undefined) throw new ScheduleSyntaxError('d: give an age (Nd, Nm or Ny) and a schedule');
      if (!/^\d+[dmy]$/.test(age) || parseAge(age, Date.now()) === null || /^0+[dmy]$/.test(age))
        throw new ScheduleSyntaxError(`d ${age}: not an age (e.g. 7d, 1m, 1y)`);
      i++;
    }
    const cron = words[i + 1];
    if (cron === undefined)
      throw new ScheduleSyntaxError(`${letter}: give the schedule, e.g. ${letter} "0 1 * * 6"`);
    try {
      entries.push({ kind, cron: validateCron(cron), ...(age ? { age } : {}), options: { ...options } });
    } catch (error) {
      if (error instanceof CronExpressionError) throw new ScheduleSyntaxError(`${letter}: ${error.message}`);
      throw error;
    }
    i += 2;
  }
  return entries;
}

/** zmschedulebackup -q, as Zimbra prints it, with each entry's options after its schedule. */
export function formatSchedule(entries: ScheduleEntry[]): string {
  if (entries.length === 0) return 'Current Schedule:\n\n\t(none)\n';
  const lines = entries.map((e) =>
    [
      '\t' + KIND_LETTER[e.kind],
      ...(e.age ? [e.age] : []),
      e.cron,
      ...optionArgv(e.options, 'comma').map(word),
    ].join(' '),
  );
  return `Current Schedule:\n\n${lines.join('\n')}\n`;
}

/** A word as sh reads it: bare when safe, single-quoted otherwise. */
function word(value: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** The flags that reach a schedule's crontab when nothing else is known: here, or a pull from here. */
export function defaultReach(server: ScheduledServer): string[] {
  if (server.kind === 'local') return ['--zimbra-home', server.zimbraHome];
  return [...serverArgv(server).map((a) => (a === '-s' ? '--server' : a)), '--pull'];
}

function sameOptions(a: BackupOptions, b: BackupOptions): boolean {
  return optionArgv(a, 'comma').join('\0') === optionArgv(b, 'comma').join('\0');
}

/**
 * zmschedulebackup -s: one command line that installs this schedule again. Entries with the same
 * options share one -R; entries with other options follow as -A commands joined by &&. `reach`
 * are the flags that name the crontab (--server, --crontab-user …); by default those of `server`.
 */
export function saveCommand(
  entries: ScheduleEntry[],
  server: ScheduledServer,
  reach: string[] = defaultReach(server),
  program = 'mailvault',
): string {
  const where = reach;
  if (entries.length === 0) return [program, 'zmschedulebackup', '-F', ...where].map(word).join(' ');
  const groups: { options: BackupOptions; entries: ScheduleEntry[] }[] = [];
  for (const entry of entries) {
    const last = groups.at(-1);
    if (last && sameOptions(last.options, entry.options)) last.entries.push(entry);
    else groups.push({ options: entry.options, entries: [entry] });
  }
  return groups
    .map((group, i) =>
      [
        program,
        'zmschedulebackup',
        i === 0 ? '-R' : '-A',
        ...where,
        ...optionArgv(group.options, 'comma'),
        ...group.entries.flatMap((e) => [KIND_LETTER[e.kind], ...(e.age ? [e.age] : []), e.cron]),
      ]
        .map(word)
        .join(' '),
    )
    .join(' && ');
}
