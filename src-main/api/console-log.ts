import type { ApiEvents, JobSnapshot, LogLevel, LogLine } from './contract';
import type { EventHub } from './events';
import type { Dispatch } from './handlers';
import { jobWhat } from './job-notice';

/**
 * The console's log, for its log view: jobs started and finished, requests that failed, changes
 * made (a server saved, a schedule installed, a prune), and internal errors. Kept in memory (the
 * newest MAX_LINES), pushed as `log.line`, listed by `log.list`.
 *
 * Never a secret: request parameters are never logged, only the request's name and the answer's
 * message; and any passphrase a request carried is blanked out of every line, in case a message
 * ever quoted one.
 */
export const MAX_LINES = 2000;

/** Requests whose success is worth a line: they change something. */
const CHANGES: Partial<Record<string, string>> = {
  'servers.save': 'Server saved',
  'servers.remove': 'Server removed',
  'prune.run': 'Prune done',
  'schedules.save': 'Schedule installed',
  'schedules.remove': 'Schedule removed',
  'standby.link': 'Standby link changed',
};

export interface ConsoleLog {
  add(level: LogLevel, message: string, serverId?: string): LogLine;
  list(filter?: { serverId?: string; level?: LogLevel }): LogLine[];
  /** The dispatch, logging failed requests and changes; never their parameters. */
  wrap(dispatch: Dispatch): Dispatch;
}

const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };

export function createConsoleLog(events: EventHub, maxLines = MAX_LINES): ConsoleLog {
  const lines: LogLine[] = [];
  const secrets = new Set<string>();
  let seq = 0;

  const redact = (text: string) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join('•••');
    return out;
  };

  const log: ConsoleLog = {
    add(level, message, serverId) {
      const line: LogLine = {
        seq: ++seq,
        at: Date.now(),
        level,
        message: redact(message.split('\n')[0]!.slice(0, 2000)),
        ...(serverId ? { serverId } : {}),
      };
      lines.push(line);
      if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
      events.emit('log.line', line);
      return line;
    },
    list(filter = {}) {
      return lines
        .filter(
          (l) =>
            (!filter.serverId || l.serverId === filter.serverId) &&
            (!filter.level || RANK[l.level] >= RANK[filter.level]),
        )
        .reverse();
    },
    wrap(dispatch) {
      return async (name, req) => {
        remember(req);
        const answer = await dispatch(name, req);
        if (name === 'log.list') return answer;
        const serverId = serverOf(req);
        // Internal errors are logged where they are caught (createDispatch's log), once.
        if (!answer.ok && answer.error.code !== 'internal')
          log.add('warn', `${String(name)} failed: ${answer.error.message}`, serverId);
        else if (typeof name === 'string' && CHANGES[name]) log.add('info', CHANGES[name]!, serverId);
        return answer;
      };
    },
  };

  function remember(req: unknown) {
    const profile = (req as { profile?: { passphrase?: unknown } } | null)?.profile;
    if (typeof profile?.passphrase === 'string' && profile.passphrase.length >= 4)
      secrets.add(profile.passphrase);
  }

  events.subscribe((message) => {
    if (message.name !== 'job.event') return;
    const event = message.payload as ApiEvents['job.event'];
    if (event.kind === 'started') log.add('info', `${describeJob(event.job)} started`, event.job.serverId);
    if (event.kind === 'finished') {
      const job = event.job;
      const level = job.state === 'succeeded' ? 'info' : job.state === 'aborted' ? 'warn' : 'error';
      const why = job.error ? `: ${job.error.message}` : '';
      log.add(level, `${describeJob(job)} ${job.state}${why}`, job.serverId);
    }
  });
  return log;
}

function serverOf(req: unknown): string | undefined {
  const r = req as { serverId?: unknown; id?: unknown } | null;
  if (typeof r?.serverId === 'string') return r.serverId;
  return undefined;
}

function describeJob(job: JobSnapshot): string {
  return `${jobWhat(job)}${job.label ? ` (${job.label})` : ''}`;
}
