import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ApiEvents,
  EventName,
  JobEvent,
  JobSnapshot,
  MailvaultApi,
  ServerProfileInput,
} from '../../../src-main/api/contract';
import { createConsole, type Console } from '../../../src-main/api/create-console';
import { createEventHub, type EventHub } from '../../../src-main/api/events';
import type { Dispatch } from '../../../src-main/api/handlers';
import { NO_SECRET_BOX } from '../../../src-main/api/secrets';

/**
 * One contract, two transports: every test here runs once over the web host (HTTP + server-sent
 * events) and once over Electron IPC (the preload and ipcMain binding, electron stubbed). The
 * console behind is the real one, with a stand-in backup worker process (fake-backup-worker.mjs).
 */
export interface Transport {
  /** A client as a window would have it; called again for a "reloaded window". */
  client(): Promise<MailvaultApi>;
  close(): Promise<void>;
}
export type Connect = (dispatch: Dispatch, events: EventHub) => Promise<Transport>;

const fakeWorker = fileURLToPath(new URL('./fake-backup-worker.mjs', import.meta.url));

export function contractSuite(name: string, connect: Connect): void {
  describe(`the API contract over ${name}`, () => {
    let dir: string;
    let events: EventHub;
    let mailvault: Console;
    let transport: Transport;
    let api: MailvaultApi;

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-contract-'));
      events = createEventHub();
      mailvault = createConsole({
        info: { name: 'Mailvault', version: '0.0.0-test', shell: 'web' },
        configDir: path.join(dir, 'config'),
        secrets: NO_SECRET_BOX,
        events,
        launchWorker: () => fork(fakeWorker, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
        pollMs: 50,
      });
      transport = await connect(mailvault.dispatch, events);
      api = await transport.client();
    });

    afterEach(async () => {
      await mailvault.stop();
      await transport.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const server = (name: string): ServerProfileInput => ({
      name,
      access: 'local',
      zimbraHome: '/opt/zimbra',
      target: path.join(dir, `target-${name}`),
    });

    /** Collects one event kind; resolves `until` when the predicate holds. */
    function collect<E extends EventName>(client: MailvaultApi, event: E) {
      const seen: ApiEvents[E][] = [];
      const waiters: { test: (all: ApiEvents[E][]) => boolean; resolve: () => void }[] = [];
      const off = client.on(event, (payload) => {
        seen.push(payload);
        for (const w of [...waiters]) if (w.test(seen)) w.resolve();
      });
      return {
        seen,
        off,
        until: (test: (all: ApiEvents[E][]) => boolean) =>
          test(seen) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve })),
      };
    }

    /** The event stream of a new client is live once a servers.changed round trip arrives. */
    async function live(client: MailvaultApi): Promise<void> {
      const probe = collect(client, 'servers.changed');
      const tick = setInterval(() => events.emit('servers.changed', {}), 50);
      await probe.until((all) => all.length > 0);
      clearInterval(tick);
      probe.off();
    }

    it('answers app.info', async () => {
      expect(await api.call('app.info', {})).toEqual({
        ok: true,
        value: { name: 'Mailvault', version: '0.0.0-test', shell: 'web', secrets: 'none' },
      });
    });

    it('returns errors as {code, message} values', async () => {
      const unknown = await api.call('servers.nothing' as 'app.info', {});
      expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown-request' } });
      const bad = await api.call('servers.get', { id: 7 } as never);
      expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      const missing = await api.call('jobs.get', { jobId: 'job-none' });
      expect(missing).toEqual({
        ok: false,
        error: { code: 'not-found', message: 'There is no job job-none.' },
      });
    });

    it('saves, lists, edits and removes servers, and refuses a passphrase it cannot keep', async () => {
      const added = await api.call('servers.save', { profile: server('Mail 1') });
      if (!added.ok) throw new Error(added.error.message);
      expect(added.value).toMatchObject({ id: 'mail-1', name: 'Mail 1', access: 'local' });
      const twice = await api.call('servers.save', { profile: server('mail 1') });
      expect(twice).toMatchObject({ ok: false, error: { code: 'conflict' } });
      const withSecret = await api.call('servers.save', {
        profile: {
          ...server('Mail 2'),
          access: 'ssh',
          ssh: { host: 'mail2', port: 22, user: 'root', auth: 'key', keyPath: '/home/a/.ssh/id_ed25519' },
          passphrase: 'hunter2',
        },
      });
      expect(withSecret).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      const edited = await api.call('servers.save', { profile: { ...server('Mail One'), id: 'mail-1' } });
      expect(edited).toMatchObject({ ok: true, value: { id: 'mail-1', name: 'Mail One' } });
      const list = await api.call('servers.list', {});
      expect(list.ok && list.value.map((s) => [s.id, s.name, s.status, s.saved])).toEqual([
        ['mail-1', 'Mail One', 'unknown', true],
      ]);
      const stored = fs.readFileSync(path.join(dir, 'config', 'servers.json'), 'utf8');
      expect(stored).not.toContain('hunter2');
      expect(fs.statSync(path.join(dir, 'config', 'servers.json')).mode & 0o077).toBe(0);
      expect(await api.call('servers.remove', { id: 'mail-1' })).toEqual({ ok: true, value: {} });
      expect(await api.call('servers.get', { id: 'mail-1' })).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
    });

    it('runs a backup in a child process: numbered events, progress, result, and a snapshot for a reloaded window', async () => {
      await api.call('servers.save', { profile: server('Fast') });
      const jobEvents = collect(api, 'job.event');
      const sessionsChanged = collect(api, 'sessions.changed');
      await live(api);
      const started = await api.call('jobs.start', { serverId: 'fast', operation: 'backup.full' });
      if (!started.ok) throw new Error(started.error.message);
      const jobId = started.value.id;
      expect(started.value).toMatchObject({ state: 'running', serverId: 'fast', operation: 'backup.full' });
      await jobEvents.until((all) => all.some((e) => e.jobId === jobId && e.kind === 'finished'));
      await sessionsChanged.until((all) => all.some((e) => e.serverId === 'fast'));

      const mine = jobEvents.seen.filter((e) => e.jobId === jobId);
      expect(mine.map((e) => e.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(mine[0]!.kind).toBe('started');
      expect(mine.some((e) => e.kind === 'label')).toBe(true);
      const progress = mine.filter(
        (e): e is Extract<JobEvent, { kind: 'progress' }> => e.kind === 'progress',
      );
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)!.progress).toMatchObject({
        accountsTotal: 3,
        currentAccount: expect.stringMatching(/@example\.com$/),
      });
      const finished = mine.at(-1) as Extract<JobEvent, { kind: 'finished' }>;
      expect(finished.job).toMatchObject({
        state: 'succeeded',
        seq: finished.seq,
        warnings: ['a warning from the worker'],
      });
      expect(finished.job.sessions).toEqual([
        expect.objectContaining({ status: 'completed', accounts: 3, label: finished.job.label }),
      ]);

      // A reloaded window: a new client, no events seen, resynchronises from the snapshot.
      const reloaded = await transport.client();
      const snapshot = await reloaded.call('jobs.get', { jobId });
      expect(snapshot).toEqual({ ok: true, value: finished.job });
      const list = await reloaded.call('jobs.list', {});
      expect(list.ok && list.value.map((j: JobSnapshot) => [j.id, j.seq, j.state])).toEqual([
        [jobId, finished.seq, 'succeeded'],
      ]);
    });

    it('refuses a second backup or a prune of the same target while one runs, and aborts on request', async () => {
      await api.call('servers.save', { profile: server('Slow') });
      const jobEvents = collect(api, 'job.event');
      await live(api);
      const started = await api.call('jobs.start', { serverId: 'slow', operation: 'backup.full' });
      if (!started.ok) throw new Error(started.error.message);
      const jobId = started.value.id;
      await jobEvents.until((all) => all.some((e) => e.jobId === jobId && e.kind === 'progress'));
      expect(
        await api.call('jobs.start', { serverId: 'slow', operation: 'backup.incremental' }),
      ).toMatchObject({
        ok: false,
        error: { code: 'conflict' },
      });
      expect(
        await api.call('prune.run', { serverId: 'slow', rule: { kind: 'age', amount: 0, unit: 'days' } }),
      ).toMatchObject({
        ok: false,
        error: { code: 'conflict' },
      });
      const list = await api.call('servers.list', {});
      expect(list.ok && list.value[0]!.runningJobId).toBe(jobId);

      const aborting = await api.call('jobs.abort', { jobId });
      expect(aborting).toMatchObject({ ok: true, value: { aborting: true } });
      await jobEvents.until((all) => all.some((e) => e.jobId === jobId && e.kind === 'finished'));
      const done = await api.call('jobs.get', { jobId });
      expect(done).toMatchObject({
        ok: true,
        value: { state: 'aborted', sessions: [{ status: 'aborted' }] },
      });
      const kinds = jobEvents.seen.filter((e) => e.jobId === jobId).map((e) => e.kind);
      expect(kinds).toContain('aborting');
    });

    it('reports a worker that dies as a failed job, and the console goes on', async () => {
      await api.call('servers.save', { profile: server('Crash') });
      const jobEvents = collect(api, 'job.event');
      await live(api);
      const started = await api.call('jobs.start', { serverId: 'crash', operation: 'backup.full' });
      if (!started.ok) throw new Error(started.error.message);
      await jobEvents.until((all) => all.some((e) => e.kind === 'finished'));
      const job = await api.call('jobs.get', { jobId: started.value.id });
      expect(job).toMatchObject({
        ok: true,
        value: {
          state: 'failed',
          error: { code: 'internal', message: expect.stringContaining('signal SIGKILL') },
        },
      });
      expect(await api.call('app.info', {})).toMatchObject({ ok: true });
      // And the next backup of that server may start.
      const again = await api.call('jobs.start', { serverId: 'crash', operation: 'backup.full' });
      expect(again).toMatchObject({ ok: true });
    });

    it('answers the restore planner from an empty target honestly', async () => {
      await api.call('servers.save', { profile: server('Fast') });
      expect(await api.call('restore.accounts', { serverId: 'fast' })).toEqual({ ok: true, value: [] });
      expect(
        await api.call('restore.query', { serverId: 'fast', account: 'anna@example.com', toMs: 1 }),
      ).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
      fs.mkdirSync(path.join(dir, 'target-Fast', 'sessions'), { recursive: true });
      expect(
        await api.call('restore.plan', { serverId: 'fast', account: 'anna@example.com', toMs: 1 }),
      ).toMatchObject({
        ok: false,
        error: { code: 'not-found', message: 'No session in this target holds anna@example.com.' },
      });
    });

    it('previews a prune of an empty target as nothing, and refuses a bad rule', async () => {
      await api.call('servers.save', { profile: server('Fast') });
      fs.mkdirSync(path.join(dir, 'target-Fast', 'sessions'), { recursive: true });
      expect(
        await api.call('prune.preview', { serverId: 'fast', rule: { kind: 'age', amount: 7, unit: 'days' } }),
      ).toMatchObject({
        ok: true,
        value: { sessions: [], redoLogs: [] },
      });
      expect(
        await api.call('prune.preview', {
          serverId: 'fast',
          rule: { kind: 'age', amount: -1, unit: 'days' },
        }),
      ).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
      expect(
        await api.call('prune.preview', {
          serverId: 'fast',
          rule: { kind: 'label', label: 'full-20250101.000000.000' },
        }),
      ).toMatchObject({
        ok: false,
        error: { code: 'bad-request', message: expect.stringContaining('no such session') },
      });
    });
  });
}
