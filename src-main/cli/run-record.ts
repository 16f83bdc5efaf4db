import os from 'node:os';
import { Option, type Command } from 'commander';
import {
  directoryReportSettings,
  reportFlags,
  resolveReportSettings,
  ReportSettingsError,
  type PartialReportSettings,
} from '../engine/report/report-settings';
import { summarizeManifest, succeeded, type RunReport } from '../engine/report/report-content';
import { sendReport } from '../engine/report/send-report';
import { startAttempt, type Attempt, type AttemptRecorder } from '../engine/schedule/attempts';
import { listSessions } from '../engine/target/session-list';
import { openServer, parseServer, type ServerFlags } from './server-option';
import { UsageError } from './usage-error';

/**
 * What zmbackup does around a run that nobody watches: --unattended (how the crontab lines start
 * it) records the attempt in <target>/attempts/, --mail-report sends the report mail, and the
 * exit status is made to agree with the sessions the run wrote (0 only if every one is completed).
 */
export interface RunRecordFlags extends ServerFlags {
  unattended?: boolean;
  mailReport?: boolean;
  mailTo?: string;
  mailFrom?: string;
  smtp?: string;
  smtpAuthFile?: string;
  smtpCaFile?: string;
  mailSubjectPrefix?: string;
  full?: boolean;
  incremental?: boolean;
  del?: string;
  target?: string;
  sync?: boolean;
  worker?: boolean;
}

export function addRunRecordOptions(command: Command): Command {
  return command
    .option('--mail-report', 'mail a report when the backup ends (recipients from --mail-to or the server)')
    .option(
      '--mail-to <addresses>',
      'report recipients, comma-separated (default: zimbraBackupReportEmailRecipients)',
    )
    .option('--mail-from <address>', 'report sender (default: zimbraBackupReportEmailSender)')
    .option(
      '--smtp <[smtps://]host[:port]>',
      'SMTP server for the report (default: zimbraSmtpHostname, port 25); smtps:// for implicit TLS (port 465)',
    )
    .option(
      '--smtp-auth-file <file>',
      'SMTP user (first line) and password (second line), a file only its owner can read',
    )
    .option(
      '--smtp-ca-file <file>',
      "PEM certificates to trust for the SMTP server besides the system's (a private CA or self-signed)",
    )
    .option(
      '--mail-subject-prefix <text>',
      'report subject prefix (default: zimbraBackupReportEmailSubjectPrefix)',
    )
    .addOption(
      new Option('--unattended', 'started by the schedule: record the attempt in <target>/attempts'),
    );
}

function kindOf(flags: RunRecordFlags): Attempt['kind'] {
  return flags.del !== undefined ? 'delete' : flags.incremental ? 'incremental' : 'full';
}

function serverName(flags: RunRecordFlags): string {
  if (flags.server.startsWith('ssh://')) return flags.server;
  const home = flags.zimbraHome ?? '/opt/zimbra';
  return flags.server === 'local' ? `${os.hostname()} (${home})` : flags.server;
}

/** The directory's report settings, when the server can be reached; none otherwise (flags must do). */
async function directorySettings(
  flags: RunRecordFlags,
): Promise<{ settings: PartialReportSettings; hostname?: string }> {
  try {
    const server = await openServer(parseServer(flags));
    try {
      const client = await server.ldap();
      try {
        return {
          settings: await directoryReportSettings(client, server.settings.hostname),
          hostname: server.settings.hostname,
        };
      } finally {
        await client.unbind().catch(() => undefined);
      }
    } finally {
      await server.close();
    }
  } catch {
    return { settings: {} };
  }
}

async function mailReport(
  flags: RunRecordFlags,
  fromFlags: PartialReportSettings,
  run: RunReport,
): Promise<Attempt['report']> {
  const needDirectory = !fromFlags.to || !fromFlags.host || !fromFlags.from || !fromFlags.subjectPrefix;
  const directory = needDirectory ? await directorySettings(flags) : { settings: {} };
  if (directory.hostname) run.server = directory.hostname;
  const settings = resolveReportSettings(fromFlags, directory.settings);
  if (!settings) {
    console.error(
      'warning: no report mail sent: no recipients (give --mail-to, or set zimbraBackupReportEmailRecipients)',
    );
    return { sent: false, to: [], error: 'no recipients' };
  }
  try {
    await sendReport(settings, run);
    return { sent: true, to: settings.to, error: null };
  } catch (error) {
    const message = `${settings.host}:${settings.port}: ${(error as Error).message}`;
    console.error(`warning: the report mail was not sent: ${message}`);
    return { sent: false, to: settings.to, error: message };
  }
}

/**
 * Wraps zmbackup's action. Only runs that do the work in this process are recorded: --sync, the
 * detached worker, and -del (the parent of an asynchronous backup only starts the worker, which
 * gets the same flags and records itself).
 */
export function recordedAction<F extends RunRecordFlags>(
  defaultTarget: (flags: F) => string | undefined,
  action: (flags: F) => Promise<void>,
): (flags: F) => Promise<void> {
  return async (flags: F) => {
    // Checked here, before an asynchronous backup starts its worker: bad input is exit 2 at once.
    const mailFlag = (
      ['mailTo', 'mailFrom', 'smtp', 'smtpAuthFile', 'smtpCaFile', 'mailSubjectPrefix'] as const
    ).find((f) => flags[f] !== undefined);
    if (mailFlag && !flags.mailReport)
      throw new UsageError(
        `--${mailFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --mail-report`,
      );
    let fromFlags: PartialReportSettings;
    try {
      fromFlags = reportFlags(flags);
    } catch (error) {
      if (error instanceof ReportSettingsError) throw new UsageError(error.message);
      throw error;
    }
    const inThisProcess = flags.sync || flags.worker || flags.del !== undefined;
    if (!(flags.unattended || flags.mailReport) || !inThisProcess) return action(flags);
    let target: string | undefined;
    try {
      target = flags.target ?? defaultTarget(flags);
    } catch {
      target = undefined; // the action reports the bad input itself
    }
    const kind = kindOf(flags);
    const startMs = Date.now();
    const before = new Set(target ? (await listSessions(target).catch(() => [])).map((s) => s.label) : []);
    let attempt: AttemptRecorder | null = null;
    if (flags.unattended && target)
      attempt = await startAttempt(target, { kind, server: serverName(flags), nowMs: startMs }).catch(
        (error) => {
          console.error(`warning: cannot record the attempt in ${target}: ${(error as Error).message}`);
          return null;
        },
      );
    let failure: unknown = null;
    process.exitCode = undefined;
    try {
      await action(flags);
    } catch (error) {
      failure = error;
    }
    // Bad input typed by hand changes nothing, mail included; from cron it is worth a report.
    if (failure instanceof UsageError && !flags.unattended) throw failure;
    const after = target ? await listSessions(target).catch(() => []) : [];
    const written = after.filter((s) => !before.has(s.label) && s.startMs >= startMs - 1000);
    const sessions = written.flatMap((s) => (s.manifest ? [summarizeManifest(s.manifest)] : []));
    let error = failure === null ? null : (failure as Error).message.split('\n')[0]!;
    let exitCode =
      failure === null
        ? typeof process.exitCode === 'number'
          ? process.exitCode
          : 0
        : failure instanceof UsageError
          ? 2
          : 1;
    // Honest status: a session that did not commit, or did not complete, is not a success.
    const uncommitted = written.filter((s) => !s.manifest);
    if (!error && uncommitted.length > 0)
      error = `session ${uncommitted[0]!.label} was not committed (${uncommitted[0]!.state})`;
    if (!error && kind !== 'delete' && written.length === 0) error = 'no session was written';
    const run: RunReport = {
      server: serverName(flags),
      kind,
      target: target ?? '(none)',
      startMs,
      endMs: Date.now(),
      exitCode,
      sessions,
      error,
      ...(kind === 'delete' ? { deleted: [...before].filter((l) => !after.some((s) => s.label === l)) } : {}),
    };
    if (exitCode === 0 && !succeeded(run)) {
      exitCode = 1;
      run.exitCode = 1;
      if (failure === null && error) console.error(`mailvault: ${error}`);
      else if (failure === null) console.error('mailvault: the run did not complete every session');
    }
    const report = flags.mailReport ? await mailReport(flags, fromFlags, run) : null;
    if (attempt)
      await attempt
        .finish({ exitCode, labels: written.map((s) => s.label), error, report })
        .catch((e) => console.error(`warning: cannot record the attempt's end: ${(e as Error).message}`));
    if (failure !== null) throw failure;
    process.exitCode = exitCode;
  };
}
