import { JobRunner, type LaunchWorker } from '../jobs/job-runner';
import type { AppInfo } from './contract';
import { consoleHandlers } from './console';
import { createConsoleLog, type ConsoleLog } from './console-log';
import { announceJobEnds } from './job-notice';
import type { EventHub } from './events';
import { createDispatch, type Dispatch } from './handlers';
import type { SandboxServers } from './sandbox-servers';
import type { ScheduleParts } from './schedules';
import type { SecretBox } from './secrets';
import { ServerStore } from './server-store';

export interface ConsoleOptions {
  info: Omit<AppInfo, 'secrets'>;
  configDir: string;
  secrets: SecretBox;
  events: EventHub;
  launchWorker: LaunchWorker;
  sandbox?: SandboxServers;
  log?: (line: string) => void;
  /** How often a running job's progress is read (ms). */
  pollMs?: number;
  /** Where schedules are installed (tests: a stand-in crontab command), and the launcher. */
  schedules?: ScheduleParts;
}

export interface Console {
  dispatch: Dispatch;
  runner: JobRunner;
  store: ServerStore;
  /** The log view's lines. */
  consoleLog: ConsoleLog;
  /** Aborts running jobs and waits for their workers to exit. */
  stop(): Promise<void>;
}

/** The whole console behind either shell: saved servers, sandbox, jobs, one dispatch. */
export function createConsole(options: ConsoleOptions): Console {
  const { events } = options;
  const consoleLog = createConsoleLog(events);
  announceJobEnds(events);
  // Internal errors (stack traces) go to the shell's log whole, and to the log view as one line.
  const log = (line: string) => {
    options.log?.(line);
    consoleLog.add('error', line);
  };
  const store = new ServerStore(options.configDir, options.secrets);
  const runner = new JobRunner({
    launch: options.launchWorker,
    events,
    pollMs: options.pollMs,
    log,
    onFinished: (job) => {
      events.emit('sessions.changed', { serverId: job.serverId });
      events.emit('servers.changed', {});
    },
  });
  const handlers = consoleHandlers({
    info: options.info,
    store,
    secretsKind: options.secrets.kind,
    sandbox: options.sandbox,
    runner,
    events,
    schedules: options.schedules,
    log: consoleLog,
  });
  return {
    dispatch: consoleLog.wrap(createDispatch(handlers, log)),
    runner,
    store,
    consoleLog,
    stop: () => runner.stopAll(),
  };
}
