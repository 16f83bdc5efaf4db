import type { Transport } from '../transport/types';

/**
 * A user's crontab on the machine a transport reaches (the server over SSH, or this machine),
 * read and written only through the `crontab` command, so cron's own checks and locking apply
 * and no spool file is edited behind its back.
 */
export class CrontabError extends Error {}

export interface CrontabPlace {
  transport: Transport;
  /** `crontab` (the transport user's), or e.g. `crontab -u zimbra`. */
  command: string[];
}

function describe(place: CrontabPlace): string {
  return `${place.transport.name}: ${place.command.join(' ')}`;
}

function notInstalled(place: CrontabPlace, stderr: string, code: number): CrontabError | null {
  if (code === 127 || /not found|No such file/i.test(stderr))
    return new CrontabError(
      `${describe(place)}: crontab is not installed there (Debian/Ubuntu: apt-get install cron; RHEL: dnf install cronie)`,
    );
  return null;
}

/** The crontab's text; '' when the user has none yet. */
export async function readCrontab(place: CrontabPlace): Promise<string> {
  const result = await place.transport.exec([...place.command, '-l'], { timeoutMs: 30_000 });
  if (result.code === 0) return result.stdout.toString('utf8');
  if (/no crontab for/i.test(result.stderr)) return '';
  throw (
    notInstalled(place, result.stderr, result.code) ??
    new CrontabError(`${describe(place)} -l failed (${result.code}): ${result.stderr.trim()}`)
  );
}

/** Installs `text` as the whole crontab, then reads it back to be sure cron has exactly it. */
export async function writeCrontab(place: CrontabPlace, text: string): Promise<void> {
  const result = await place.transport.exec([...place.command, '-'], { input: text, timeoutMs: 30_000 });
  if (result.code !== 0)
    throw (
      notInstalled(place, result.stderr, result.code) ??
      new CrontabError(`${describe(place)} refused the new crontab (${result.code}): ${result.stderr.trim()}`)
    );
  const back = await readCrontab(place);
  if (back !== text)
    throw new CrontabError(`${describe(place)}: the crontab read back differs from what was installed`);
}
