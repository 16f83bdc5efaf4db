/**
 * Schedules for the command line and the console: read, edit and install a server's schedule,
 * its next and missed runs, and the attempts scheduled runs recorded (docs/schedules.md).
 */
export { listAttempts, type Attempt, type ListedAttempt } from './attempts';
export { CronExpressionError, nextCronTimes, validateCron } from './cron-expression';
export { CrontabError, readCrontab, type CrontabPlace } from './crontab';
export {
  defaultSchedule,
  scheduleKey,
  type BackupOptions,
  type EntryKind,
  type ScheduledServer,
  type ScheduleEntry,
} from './schedule';
export { flushSchedule, installSchedule, readSchedule, type InstalledSchedule } from './schedule-store';
export { missedRuns, nextRuns, type PlannedRun } from './timeline';
export { formatSchedule, parseEntries, saveCommand, ScheduleSyntaxError } from './zimbra-syntax';
