import { parseCronLine, cronLine } from './cron-line';
import { readBlock, writeBlock } from './crontab-block';
import { readCrontab, writeCrontab, CrontabError, type CrontabPlace } from './crontab';
import { scheduleKey, type ScheduledServer, type ScheduleEntry } from './schedule';

/**
 * A server's schedule where it is installed: the block for that server in a crontab (the
 * server's own, or a workstation's for pull backups). These are the functions the command line
 * and the console share.
 */
export interface InstalledSchedule {
  entries: ScheduleEntry[];
  /** The launcher the lines run (absent when there is no schedule). */
  launcher?: string;
  /** The block's lines as they are in the crontab. */
  lines: string[];
}

export async function readSchedule(place: CrontabPlace, server: ScheduledServer): Promise<InstalledSchedule> {
  const key = scheduleKey(server);
  const lines = readBlock(await readCrontab(place), key) ?? [];
  let launcher: string | undefined;
  const entries = lines.map((line) => {
    const parsed = parseCronLine(line);
    if (scheduleKey(parsed.server) !== key)
      throw new CrontabError(
        `a line in the block for ${key} backs up ${scheduleKey(parsed.server)}: ${line}`,
      );
    launcher ??= parsed.launcher;
    return parsed.entry;
  });
  return { entries, lines, ...(launcher ? { launcher } : {}) };
}

/** The launcher must exist where cron will run it, or every scheduled run would fail silently. */
async function checkLauncher(place: CrontabPlace, launcher: string): Promise<void> {
  const result = await place.transport.exec(['test', '-x', launcher]);
  if (result.code !== 0)
    throw new CrontabError(
      `${place.transport.name}: ${launcher} is not an executable there; install mailvault on that machine or give its path with --launcher`,
    );
}

/** Replaces the server's block with these entries (an empty list removes the block); returns the new lines. */
export async function installSchedule(
  place: CrontabPlace,
  server: ScheduledServer,
  entries: ScheduleEntry[],
  launcher: string,
): Promise<string[]> {
  const lines = entries.map((entry) => cronLine(entry, server, launcher));
  if (lines.length > 0) await checkLauncher(place, launcher);
  await editCrontab(place, (text) => writeBlock(text, scheduleKey(server), lines.length > 0 ? lines : null));
  return lines;
}

/** zmschedulebackup -F: removes the server's block, nothing else. */
export async function flushSchedule(place: CrontabPlace, server: ScheduledServer): Promise<void> {
  await editCrontab(place, (text) => writeBlock(text, scheduleKey(server), null));
}

/**
 * crontab has no compare-and-swap: someone may install a crontab (crontab -e, another
 * zmschedulebackup) between our read and our write, and ours would drop their change. So the
 * crontab is read again just before writing and the edit redone on what is there now; this
 * narrows the window to one round trip (it cannot close it), and gives up after a few tries.
 */
async function editCrontab(place: CrontabPlace, edit: (text: string) => string): Promise<void> {
  let before = await readCrontab(place);
  for (let attempt = 0; attempt < 5; attempt++) {
    const after = edit(before);
    if (after === before) return;
    const now = await readCrontab(place);
    if (now === before) {
      await writeCrontab(place, after);
      return;
    }
    before = now;
  }
  throw new CrontabError(
    `${place.transport.name}: the crontab kept changing while it was being edited; try again`,
  );
}
