import { quoteArgv } from '../transport/shell-quote';
import { BackupArgvError, parseZmbackupArgv, zmbackupArgv } from './backup-argv';
import { CronExpressionError, validateCron } from './cron-expression';
import type { ScheduledServer, ScheduleEntry } from './schedule';
import { ShellWordsError, splitShellWords } from './shell-words';

/**
 * One crontab line per schedule entry: the five time fields, then the engine's launcher by its
 * absolute path (cron's PATH is /usr/bin:/bin) with zmbackup's arguments, each single-quoted.
 * cron turns an unescaped % into a newline, so every % is written as \% (cron drops the backslash).
 */
export class CronLineError extends Error {}

export function cronLine(entry: ScheduleEntry, server: ScheduledServer, launcher: string): string {
  const argv = [launcher, ...zmbackupArgv(entry, server)];
  for (const arg of argv)
    if (/[\r\n]/.test(arg))
      throw new CronLineError(`${JSON.stringify(arg)}: a crontab line cannot hold a line break`);
  return `${validateCron(entry.cron)} ${quoteArgv(argv).replaceAll('%', '\\%')}`;
}

/** The command cron hands to `sh -c` for a line: % → newline unless escaped, \% → %. */
export function cronCommand(line: string): { cron: string; command: string } {
  const m = /^\s*(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$/.exec(line);
  if (!m) throw new CronLineError(`not a crontab line: ${line}`);
  let command = '';
  const text = m[2]!;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '%') {
      command += '%';
      i++;
    } else if (text[i] === '%') {
      throw new CronLineError(`unescaped % (cron's input separator) in: ${line}`);
    } else command += text[i];
  }
  return { cron: m[1]!, command };
}

/** Reads one line of the engine's block back into its entry and server. */
export function parseCronLine(line: string): {
  entry: ScheduleEntry;
  server: ScheduledServer;
  launcher: string;
} {
  try {
    const { cron, command } = cronCommand(line);
    const words = splitShellWords(command);
    const [launcher, ...argv] = words;
    if (!launcher) throw new CronLineError('no command');
    const parsed = parseZmbackupArgv(argv);
    const entry: ScheduleEntry = {
      kind: parsed.kind,
      cron: validateCron(cron),
      ...(parsed.age !== undefined ? { age: parsed.age } : {}),
      options: parsed.options,
    };
    return { entry, server: parsed.server, launcher };
  } catch (error) {
    if (
      error instanceof CronLineError ||
      error instanceof BackupArgvError ||
      error instanceof ShellWordsError ||
      error instanceof CronExpressionError
    )
      throw new CronLineError(`${error.message} (line: ${line})`);
    throw error;
  }
}
