import fs from 'node:fs';
import type { JobRunner } from '../jobs/job-runner';
import { testConnection } from './connection-test';
import type { AppInfo, ConnectionTest, ServerProfile, ServerProfileInput, ServerSummary } from './contract';
import type { EventHub } from './events';
import { ApiFailure } from './failure';
import type { Handlers } from './handlers';
import { previewPrune, runPrune } from './prune';
import { restoreAccounts, restorePlan, restoreQuery } from './restore-planner';
import type { ConsoleLog } from './console-log';
import { scheduleHandlers, type ScheduleParts } from './schedules';
import type { SandboxServers } from './sandbox-servers';
import { connectSpecOf } from './server-connect';
import { encodeSessions } from './session-columns';
import type { ServerStore } from './server-store';
import { standbyHandlers } from './standby';
import { overviewOf, readTimelineCached as readTimeline, sessionDetail } from './timeline';

/**
 * The console's request handlers over its parts: saved servers (ServerStore), the built-in
 * sandbox, the job runner and the backup targets. Both shells (Electron, web host) build it the
 * same way; only the secret box and how a worker process is started differ.
 */
export interface ConsoleParts {
  info: Omit<AppInfo, 'secrets'>;
  store: ServerStore;
  secretsKind: AppInfo['secrets'];
  sandbox?: SandboxServers;
  runner: JobRunner;
  events: EventHub;
  /** Where schedules are installed (tests: a stand-in crontab), and the launcher. */
  schedules?: ScheduleParts;
  /** The log view's lines (log.list). */
  log?: ConsoleLog;
}

export function consoleHandlers(parts: ConsoleParts): Handlers {
  const { store, sandbox, runner, events } = parts;
  const schedules = scheduleHandlers(parts.schedules, (id) => store.passphrase(id), store.dir);
  /** The last test of each server in this run of the app, for its status. */
  const tested = new Map<string, ConnectionTest>();
  /** Successful tests of unsaved form settings, so saving them keeps what was learned. */
  const learned = new Map<string, ConnectionTest>();

  async function profile(id: string): Promise<ServerProfile> {
    const found = sandbox?.profiles().find((p) => p.id === id) ?? (await store.get(id));
    if (!found) throw new ApiFailure('not-found', `There is no server ${id}.`);
    return found;
  }
  const standby = standbyHandlers({ store, profile, runner, events });

  async function summaryOf(p: ServerProfile, base?: ServerSummary): Promise<ServerSummary> {
    const test = tested.get(p.id);
    const summary: ServerSummary = {
      id: p.id,
      name: p.name,
      hostname: p.hostname ?? base?.hostname ?? '',
      access: p.access,
      ...(p.ssh ? { address: `${p.ssh.user}@${p.ssh.host}:${p.ssh.port}` } : {}),
      status: base?.status ?? (test ? (test.ok ? 'online' : 'error') : 'unknown'),
      ...(base?.detail ? { detail: base.detail } : {}),
      ...(test && !test.ok
        ? { detail: test.steps.find((s) => s.outcome !== 'ok' && s.outcome !== 'skipped')?.detail }
        : {}),
      ...(p.sandbox ? { sandbox: true } : { saved: true }),
      target: p.target,
    };
    const running = runner.busy({ serverId: p.id });
    if (running) summary.runningJobId = running.id;
    const standbyGlance = await standby.glance(p.id);
    if (standbyGlance) summary.standby = standbyGlance;
    if (fs.existsSync(p.target)) {
      try {
        const timeline = await readTimeline(p.target, p.hostname);
        summary.backups = overviewOf(timeline.sessions, timeline.coverage);
      } catch (error) {
        summary.backups = {
          lastFull: null,
          lastIncremental: null,
          coverage: null,
          troubled: 0,
          sessions: 0,
          problem: (error as Error).message,
        };
      }
    }
    return summary;
  }

  const connectionKey = (input: ServerProfileInput) =>
    JSON.stringify([input.access, input.ssh?.host, input.ssh?.port, input.ssh?.user, input.zimbraHome]);

  return {
    'app.info': () => ({ ...parts.info, secrets: parts.secretsKind }),

    'servers.list': async () => {
      const sandboxSummaries = sandbox?.list() ?? [];
      const sandboxProfiles = sandbox?.profiles() ?? [];
      const fromSandbox = await Promise.all(
        sandboxSummaries.map((s) => {
          const p = sandboxProfiles.find((q) => q.id === s.id);
          return p ? summaryOf(p, s) : s;
        }),
      );
      const saved = await Promise.all((await store.list()).map((p) => summaryOf(p)));
      return [...fromSandbox, ...saved];
    },

    'servers.get': ({ id }) => profile(id),

    'servers.save': async ({ profile: input }) => {
      if (input.id?.startsWith('lab'))
        throw new ApiFailure('bad-request', 'The sandbox server cannot be edited.');
      const saved = await store.save(input);
      const test = learned.get(connectionKey(input));
      if (test?.hostname) {
        await store.learn(saved.id, { hostname: test.hostname });
        tested.set(saved.id, test);
      }
      events.emit('servers.changed', {});
      return (await store.get(saved.id)) ?? saved;
    },

    'servers.remove': async ({ id }) => {
      if (runner.busy({ serverId: id }))
        throw new ApiFailure(
          'conflict',
          'A backup of this server is running: wait for it or abort it first.',
        );
      await store.remove(id);
      tested.delete(id);
      events.emit('servers.changed', {});
      return {};
    },

    'servers.test': async ({ id, profile: input, hostKey }) => {
      if (id !== undefined) {
        const p = await profile(id);
        const result = await testConnection(
          connectSpecOf(p, await store.passphrase(id).catch(() => undefined), hostKey),
        );
        tested.set(id, result);
        if (result.ok && !p.sandbox)
          await store.learn(id, {
            hostname: result.hostname,
            hostKey: p.access === 'ssh' ? result.fingerprint : undefined,
          });
        events.emit('servers.changed', {});
        return result;
      }
      const form = input!;
      if (typeof form.passphrase === 'string' && form.passphrase && parts.secretsKind === 'none')
        throw new ApiFailure(
          'bad-request',
          'This console does not take passphrases: use the SSH agent or an unencrypted key file.',
        );
      const draft: ServerProfile = { ...form, id: form.id ?? 'draft' };
      const result = await testConnection(connectSpecOf(draft, form.passphrase ?? undefined, hostKey));
      if (result.ok) learned.set(connectionKey(form), result);
      return result;
    },

    'sessions.list': async ({ serverId }) => {
      const p = await profile(serverId);
      if (!fs.existsSync(p.target)) return { serverId, sessions: encodeSessions([]), coverage: [], gaps: [] };
      const { sessions, coverage, gaps } = await readTimeline(p.target, p.hostname);
      return { serverId, sessions: encodeSessions(sessions), coverage, gaps };
    },

    'sessions.get': async ({ serverId, label }) => {
      const p = await profile(serverId);
      const { listings } = await readTimeline(p.target, p.hostname);
      const found = listings.find((s) => s.label === label);
      if (!found) throw new ApiFailure('not-found', `There is no session ${label} of ${p.name}.`);
      return sessionDetail(found);
    },

    'jobs.start': async ({ serverId, operation, accounts }) => {
      const p = await profile(serverId);
      const busy = runner.busy({ serverId, target: p.target });
      if (busy)
        throw new ApiFailure(
          'conflict',
          `A backup of ${busy.serverName} is already running into this target (${busy.id}).`,
        );
      if (p.access === 'ssh' && !p.ssh?.hostKey)
        throw new ApiFailure('conflict', `Test the connection to ${p.name} and confirm its host key first.`);
      fs.mkdirSync(p.target, { recursive: true });
      const job = runner.startBackup({
        serverId,
        serverName: p.name,
        kind: operation === 'backup.full' ? 'full' : 'incremental',
        connect: connectSpecOf(p, await store.passphrase(serverId).catch(() => undefined)),
        target: p.target,
        accounts: accounts ?? 'all',
      });
      events.emit('servers.changed', {});
      return job;
    },

    'jobs.abort': ({ jobId }) => {
      const job = runner.abort(jobId);
      if (!job) throw new ApiFailure('not-found', `There is no job ${jobId}.`);
      return job;
    },

    'jobs.get': ({ jobId }) => {
      const job = runner.get(jobId);
      if (!job) throw new ApiFailure('not-found', `There is no job ${jobId}.`);
      return job;
    },

    'jobs.list': () => runner.list(),

    'schedules.get': async ({ serverId }) => schedules.get(await profile(serverId)),

    'schedules.save': async ({ serverId, entries }) => {
      const saved = await schedules.save(await profile(serverId), entries);
      events.emit('schedules.changed', { serverId });
      return saved;
    },

    'schedules.remove': async ({ serverId }) => {
      const removed = await schedules.remove(await profile(serverId));
      events.emit('schedules.changed', { serverId });
      return removed;
    },

    'log.list': ({ serverId, level }) => parts.log?.list({ serverId, level }) ?? [],

    'prune.preview': async ({ serverId, rule }) => {
      const p = await profile(serverId);
      if (!fs.existsSync(p.target)) return { sessions: [], redoLogs: [] };
      return previewPrune(p.target, rule);
    },

    ...standby.handlers,

    'restore.accounts': async ({ serverId }) => restoreAccounts((await profile(serverId)).target),

    'restore.query': async ({ serverId, account, fromMs, toMs }) =>
      restoreQuery((await profile(serverId)).target, account, fromMs, toMs),

    'restore.plan': async ({ serverId, account, toMs }) =>
      restorePlan(await profile(serverId), account, toMs),

    'restore.start': async ({ serverId, account, toMs, prefix }) => {
      const p = await profile(serverId);
      const busy = runner.busy({ serverId, target: p.target });
      if (busy)
        throw new ApiFailure(
          'conflict',
          `A job is already running on this server or target (${busy.id}): wait for it first.`,
        );
      if (p.access === 'ssh' && !p.ssh?.hostKey)
        throw new ApiFailure('conflict', `Test the connection to ${p.name} and confirm its host key first.`);
      const job = runner.startRestore({
        serverId,
        serverName: p.name,
        connect: connectSpecOf(p, await store.passphrase(serverId).catch(() => undefined)),
        target: p.target,
        account,
        toMs,
        prefix,
      });
      events.emit('servers.changed', {});
      return job;
    },

    'prune.run': async ({ serverId, rule }) => {
      const p = await profile(serverId);
      const busy = runner.busy({ serverId, target: p.target });
      if (busy)
        throw new ApiFailure(
          'conflict',
          `Nothing was deleted: a backup is running into this target (${busy.id}).`,
        );
      const plan = await runPrune(p.target, rule);
      events.emit('sessions.changed', { serverId });
      events.emit('servers.changed', {});
      return plan;
    },
  };
}
