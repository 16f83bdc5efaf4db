import { describe, expect, it } from 'vitest';
import type { JobSnapshot, SessionInfo, TimelineWire } from '../../../src-main/api/contract';
import { labelOf, wireOf } from '../../../src-main/api/session-columns';
import { createConsoleStore } from '../../../src-renderer/stores/console';
import { createJobsStore, jobList } from '../../../src-renderer/stores/jobs';
import { createPruneStore } from '../../../src-renderer/stores/prune';
import { createRestoreStore } from '../../../src-renderer/stores/restore';
import { createTimelineStore, fitViewport, timelineOf } from '../../../src-renderer/stores/timeline';
import { createUiStore } from '../../../src-renderer/stores/ui';
import { defaultScheduleOf } from '../../e2e/fake-timeline';
import { fakeApi, ok, settle } from './fake-api';

const job = (over: Partial<JobSnapshot> = {}): JobSnapshot => ({
  id: 'job-1',
  seq: 1,
  operation: 'backup.full',
  serverId: 'mail1',
  serverName: 'Mail 1',
  state: 'running',
  startedAt: 1000,
  progress: null,
  sessions: [],
  warnings: [],
  ...over,
});

const progress = (done: number) => ({
  accountsDone: done,
  accountsTotal: 10,
  accountErrors: 0,
  bytes: done * 100,
  bytesPerSec: 100,
  etaMs: 1000,
  currentAccount: `u${done}@example.com`,
  message: null,
});

describe('jobs store', () => {
  it('applies events in sequence and ignores old ones', () => {
    const fake = fakeApi();
    const store = createJobsStore(fake.api);
    fake.emit('job.event', { jobId: 'job-1', seq: 1, at: 1, kind: 'started', job: job() });
    fake.emit('job.event', {
      jobId: 'job-1',
      seq: 2,
      at: 2,
      kind: 'label',
      label: 'full-20260101.000000.000',
    });
    fake.emit('job.event', { jobId: 'job-1', seq: 3, at: 3, kind: 'progress', progress: progress(4) });
    fake.emit('job.event', { jobId: 'job-1', seq: 2, at: 2, kind: 'progress', progress: progress(1) });
    const state = store.getState().jobs['job-1']!;
    expect(state).toMatchObject({ seq: 3, label: 'full-20260101.000000.000', progress: { accountsDone: 4 } });
    expect(fake.calls).toEqual([]);
  });

  it('after a missed event, takes the snapshot from jobs.get instead of guessing', async () => {
    const fake = fakeApi();
    const store = createJobsStore(fake.api);
    fake.answer('jobs.get', () =>
      ok(job({ seq: 5, label: 'full-20260101.000000.000', progress: progress(7) })),
    );
    fake.emit('job.event', { jobId: 'job-1', seq: 1, at: 1, kind: 'started', job: job() });
    fake.emit('job.event', { jobId: 'job-1', seq: 4, at: 4, kind: 'progress', progress: progress(6) });
    await settle();
    expect(fake.callsOf('jobs.get')).toEqual([{ jobId: 'job-1' }]);
    expect(store.getState().jobs['job-1']).toMatchObject({ seq: 5, progress: { accountsDone: 7 } });
    // An event for a job it never heard of (a window opened mid-job) fetches it too.
    fake.answer('jobs.get', () => ok(job({ id: 'job-2', seq: 9 })));
    fake.emit('job.event', { jobId: 'job-2', seq: 9, at: 9, kind: 'aborting' });
    await settle();
    expect(store.getState().jobs['job-2']?.seq).toBe(9);
  });

  it('resynchronises from jobs.list without going back in time', async () => {
    const fake = fakeApi();
    const store = createJobsStore(fake.api);
    fake.emit('job.event', {
      jobId: 'job-1',
      seq: 6,
      at: 6,
      kind: 'finished',
      job: job({ seq: 6, state: 'succeeded' }),
    });
    fake.answer('jobs.list', () =>
      ok([job({ seq: 3 }), job({ id: 'job-0', seq: 2, startedAt: 500, state: 'failed' })]),
    );
    await store.getState().resync();
    expect(jobList(store.getState().jobs).map((j) => [j.id, j.seq, j.state])).toEqual([
      ['job-1', 6, 'succeeded'],
      ['job-0', 2, 'failed'],
    ]);
  });

  it('keeps the error of a refused start for the screen', async () => {
    const fake = fakeApi();
    const store = createJobsStore(fake.api);
    fake.answer('jobs.start', () => ({
      ok: false,
      error: { code: 'conflict', message: 'A backup is already running.' },
    }));
    expect(await store.getState().start('mail1', 'backup.full')).toBeUndefined();
    expect(store.getState().error).toEqual({ code: 'conflict', message: 'A backup is already running.' });
    expect(fake.callsOf('jobs.start')).toEqual([{ serverId: 'mail1', operation: 'backup.full' }]);
  });
});

const session = (label: string, startMs: number, type: SessionInfo['type'] = 'full'): SessionInfo => ({
  label,
  type,
  startMs,
  endMs: startMs + 60_000,
  status: 'completed',
  hostname: 'mail1',
  accounts: 3,
  accountErrors: 0,
  bytes: 10,
  errors: [],
  redoLogs: 0,
  redoTimeMs: null,
  redoSeq: null,
});

const timeline = (serverId: string, sessions: SessionInfo[]): TimelineWire =>
  wireOf({ serverId, sessions, coverage: [], gaps: [] });

describe('timeline store', () => {
  const DAY = 86_400_000;

  it('fits the view to the sessions, zooms around a time and pans', async () => {
    const fake = fakeApi();
    const store = createTimelineStore(fake.api);
    const now = Date.now();
    fake.answer('sessions.list', ({ serverId }) =>
      ok(
        timeline(serverId, [session('full-a', now - 10 * DAY), session('incr-b', now - DAY, 'incremental')]),
      ),
    );
    await store.getState().load('mail1');
    const v = store.getState().viewport!;
    expect(v.fromMs).toBeLessThan(now - 10 * DAY);
    expect(v.toMs).toBeGreaterThanOrEqual(now);
    const at = now - 5 * DAY;
    const ratio = (at - v.fromMs) / (v.toMs - v.fromMs);
    store.getState().zoom(0.5, at);
    const z = store.getState().viewport!;
    expect(z.toMs - z.fromMs).toBeCloseTo((v.toMs - v.fromMs) / 2, -1);
    expect((at - z.fromMs) / (z.toMs - z.fromMs)).toBeCloseTo(ratio, 6);
    store.getState().pan(-0.5);
    expect(store.getState().viewport!.fromMs).toBeCloseTo(z.fromMs - (z.toMs - z.fromMs) / 2, -1);
    // Never closer than 20 seconds across.
    for (let i = 0; i < 60; i++) store.getState().zoom(0.1);
    const tight = store.getState().viewport!;
    expect(tight.toMs - tight.fromMs).toBeGreaterThanOrEqual(20_000);
  });

  it('reloads on sessions.changed for its server only, keeping the zoom', async () => {
    const fake = fakeApi();
    const store = createTimelineStore(fake.api);
    let sessions = [session('full-a', 1_000_000)];
    fake.answer('sessions.list', ({ serverId }) => ok(timeline(serverId, sessions)));
    await store.getState().load('mail1');
    store.getState().zoom(0.5);
    const zoomed = store.getState().viewport;
    sessions = [...sessions, session('incr-b', 2_000_000, 'incremental')];
    fake.emit('sessions.changed', { serverId: 'mail2' });
    await settle();
    expect(fake.callsOf('sessions.list')).toHaveLength(1);
    fake.emit('sessions.changed', { serverId: 'mail1' });
    await settle();
    expect(store.getState().data!.sessions.map((s) => s.label)).toEqual(['full-a', 'incr-b']);
    expect(store.getState().viewport).toEqual(zoomed);
  });

  it('shows the details of the last session clicked, not of a slower earlier click', async () => {
    const fake = fakeApi();
    const store = createTimelineStore(fake.api);
    fake.answer('sessions.list', ({ serverId }) =>
      ok(timeline(serverId, [session('full-a', 1), session('full-b', 2)])),
    );
    await store.getState().load('mail1');
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    fake.answer('sessions.get', async ({ label }) => {
      if (label === 'full-a') await slow;
      return ok({ ...session(label, 1), accountList: [], warnings: [] });
    });
    const first = store.getState().select('full-a');
    await store.getState().select('full-b');
    release();
    await first;
    expect(store.getState().selected).toBe('full-b');
    expect(store.getState().detail?.label).toBe('full-b');
  });

  it("decodes the lean list, then merges the schedule's next and missed runs asked for after it", async () => {
    const fake = fakeApi();
    const store = createTimelineStore(fake.api);
    const start = Date.UTC(2026, 10, 1, 1, 0, 0, 0);
    fake.answer('sessions.list', ({ serverId }) =>
      ok(
        timeline(serverId, [
          session(labelOf('full', start), start),
          session('incr-odd', start + DAY, 'incremental'),
        ]),
      ),
    );
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const schedule = defaultScheduleOf('mail1', start + 3 * DAY);
    fake.answer('schedules.get', async () => {
      await slow;
      return ok(schedule);
    });
    await store.getState().load('mail1');
    const data = store.getState().data!;
    expect(data.sessions.map((s) => [s.label, s.type, s.endMs! - s.startMs])).toEqual([
      ['full-20261101.010000.000', 'full', 60_000],
      ['incr-odd', 'incremental', 60_000],
    ]);
    // The sessions are there before the schedule answers.
    expect(data.planned).toBeUndefined();
    release();
    await settle();
    expect(store.getState().data!.planned).toEqual(schedule.next);
    expect(store.getState().data!.missed).toEqual(schedule.missed);
    expect(schedule.missed.length).toBeGreaterThan(0);
    // Saved elsewhere (the Schedule screen): asked for again.
    fake.emit('schedules.changed', { serverId: 'mail1' });
    await settle();
    expect(fake.callsOf('schedules.get')).toHaveLength(2);
  });

  it("shows all servers one lane each, on one axis; a click asks the lane's server for the details", async () => {
    const fake = fakeApi();
    const store = createTimelineStore(fake.api);
    const lists: Record<string, SessionInfo[]> = {
      mail1: [session('full-a', 10 * DAY)],
      mail2: [session('full-b', 20 * DAY), session('incr-c', 21 * DAY, 'incremental')],
    };
    fake.answer('sessions.list', ({ serverId }) =>
      lists[serverId]
        ? ok(timeline(serverId, lists[serverId]))
        : { ok: false, error: { code: 'not-found', message: `no ${serverId}` } },
    );
    fake.answer('sessions.get', ({ serverId, label }) =>
      ok({ ...session(label, 1), hostname: serverId, accountList: [], warnings: [] }),
    );
    const servers = [
      { id: 'mail1', name: 'Mail 1' },
      { id: 'mail2', name: 'Mail 2' },
      { id: 'gone', name: 'Gone' },
    ];
    await store.getState().loadAll(servers);
    const s = store.getState();
    expect(s.scope).toBe('all');
    expect(s.lanes.map((l) => [l.serverId, l.data?.sessions.length, l.error?.code])).toEqual([
      ['mail1', 1, undefined],
      ['mail2', 2, undefined],
      ['gone', undefined, 'not-found'],
    ]);
    // One axis over every lane.
    expect(s.viewport!.fromMs).toBeLessThan(10 * DAY);
    expect(s.viewport!.toMs).toBeGreaterThan(21 * DAY);
    await store.getState().select('full-b', 'mail2');
    expect(store.getState().detail?.hostname).toBe('mail2');
    expect(fake.callsOf('sessions.get').at(-1)).toEqual({ serverId: 'mail2', label: 'full-b' });

    // A change on one server refreshes the lanes, keeping the view.
    store.getState().zoom(0.5);
    const zoomed = store.getState().viewport;
    lists.mail1 = [...lists.mail1!, session('incr-d', 11 * DAY, 'incremental')];
    fake.emit('sessions.changed', { serverId: 'mail1' });
    await settle();
    expect(store.getState().lanes[0]!.data!.sessions.map((x) => x.label)).toEqual(['full-a', 'incr-d']);
    expect(store.getState().viewport).toEqual(zoomed);

    // Back to one server: its own timeline, nothing of the lanes' selection.
    await store.getState().load('mail1');
    expect(store.getState().scope).toBe('server');
    expect(store.getState().selected).toBeUndefined();
    expect(store.getState().data!.sessions).toHaveLength(2);
  });

  it('fits an empty timeline to the last day', () => {
    const v = fitViewport(timelineOf(timeline('x', [])), 10 * DAY);
    expect(v.fromMs).toBe(9 * DAY);
  });
});

describe('prune store', () => {
  it('previews, marks what goes on the timeline, and confirms exactly the rule previewed', async () => {
    const fake = fakeApi();
    const doomed: string[][] = [];
    const store = createPruneStore(fake.api, (labels) => doomed.push(labels));
    fake.answer('prune.preview', () => ok({ sessions: ['full-a'], redoLogs: ['redo-1.log'], cutoffMs: 5 }));
    fake.answer('prune.run', () => ok({ sessions: ['full-a'], redoLogs: ['redo-1.log'] }));
    store.getState().setServer('mail1');
    store.getState().setRule({ kind: 'age', amount: 7, unit: 'days' });
    await store.getState().preview();
    expect(store.getState()).toMatchObject({ phase: 'ready', plan: { sessions: ['full-a'] } });
    expect(doomed.at(-1)).toEqual(['full-a']);
    await store.getState().confirm();
    expect(fake.callsOf('prune.run')).toEqual([
      { serverId: 'mail1', rule: { kind: 'age', amount: 7, unit: 'days' } },
    ]);
    expect(store.getState()).toMatchObject({
      phase: 'done',
      deleted: { sessions: ['full-a'] },
      plan: undefined,
    });
    expect(doomed.at(-1)).toEqual([]);
  });

  it('drops the plan when the rule changes, so nothing unseen is confirmed', async () => {
    const fake = fakeApi();
    const store = createPruneStore(fake.api);
    fake.answer('prune.preview', () => ok({ sessions: ['full-a'], redoLogs: [] }));
    store.getState().setServer('mail1');
    await store.getState().preview();
    store.getState().setRule({ kind: 'age', amount: 1, unit: 'days' });
    await store.getState().confirm();
    expect(fake.callsOf('prune.run')).toEqual([]);
    expect(store.getState().plan).toBeUndefined();
  });

  it('keeps the plan and shows why when the prune is refused', async () => {
    const fake = fakeApi();
    const store = createPruneStore(fake.api);
    fake.answer('prune.preview', () => ok({ sessions: ['full-a'], redoLogs: [] }));
    fake.answer('prune.run', () => ({
      ok: false,
      error: { code: 'conflict', message: 'Nothing was deleted: a backup is running.' },
    }));
    store.getState().setServer('mail1');
    await store.getState().preview();
    await store.getState().confirm();
    expect(store.getState()).toMatchObject({
      phase: 'ready',
      plan: { sessions: ['full-a'] },
      error: { code: 'conflict' },
    });
  });
});

describe('console and ui stores', () => {
  it('loads servers and reloads when servers change; a failure is kept for the screen', async () => {
    const fake = fakeApi();
    let names = ['Mail 1'];
    fake.answer('app.info', () =>
      ok({ name: 'Mailvault' as const, version: '1', shell: 'web' as const, secrets: 'none' as const }),
    );
    fake.answer('servers.list', () =>
      ok(
        names.map((name, i) => ({
          id: `s${i}`,
          name,
          hostname: '',
          access: 'local' as const,
          status: 'unknown' as const,
        })),
      ),
    );
    const store = createConsoleStore(fake.api);
    await store.getState().load();
    expect(store.getState().servers.map((s) => s.name)).toEqual(['Mail 1']);
    names = ['Mail 1', 'Mail 2'];
    fake.emit('servers.changed', {});
    await settle();
    await settle();
    expect(store.getState().servers.map((s) => s.name)).toEqual(['Mail 1', 'Mail 2']);
    fake.answer('servers.list', () => ({
      ok: false,
      error: { code: 'internal', message: 'servers.json is damaged' },
    }));
    await store.getState().load();
    expect(store.getState()).toMatchObject({
      status: 'failed',
      error: { message: 'servers.json is damaged' },
    });
  });

  it('comes back to the screen and server in the address after a reload', () => {
    const written: string[] = [];
    const ui = createUiStore('#timeline/mail%201', (hash) => written.push(hash));
    expect(ui.getState()).toMatchObject({ screen: 'timeline', serverId: 'mail 1' });
    ui.getState().show('prune');
    expect(written.at(-1)).toBe('#prune/mail%201');
    expect(createUiStore('#nonsense').getState().screen).toBe('servers');
  });
});

describe('restore planner store', () => {
  it('lists accounts, finds restore points in a window, plans the chosen instant, and drops both on another account', async () => {
    const fake = fakeApi();
    const store = createRestoreStore(fake.api);
    const point = {
      atMs: 5000,
      full: 'full-a',
      redoSeq: [1, 2] as [number, number],
      redoLogs: 2,
      complete: true,
      missing: null,
    };
    fake.answer('restore.accounts', () =>
      ok([
        { email: 'anna@example.com', zimbraId: 'z1' },
        { email: 'bob@example.com', zimbraId: 'z2' },
      ]),
    );
    fake.answer('restore.query', ({ account }) =>
      ok({
        account: { email: account, zimbraId: 'z1' },
        window: { fromMs: null, toMs: 9000 },
        sessions: [],
        best: point,
        bursts: [],
        notes: [],
      }),
    );
    fake.answer('restore.plan', ({ toMs }) => ok({ toMs, reachable: true } as never));
    await store.getState().loadAccounts('mail1');
    expect(store.getState().account).toBe('anna@example.com');
    await store.getState().find(undefined, 9000);
    expect(fake.callsOf('restore.query')).toEqual([
      { serverId: 'mail1', account: 'anna@example.com', toMs: 9000 },
    ]);
    await store.getState().planTo(point.atMs);
    expect(fake.callsOf('restore.plan')).toEqual([
      { serverId: 'mail1', account: 'anna@example.com', toMs: 5000 },
    ]);
    expect(store.getState().plan).toMatchObject({ toMs: 5000 });
    store.getState().setAccount('bob@example.com');
    expect(store.getState()).toMatchObject({ account: 'bob@example.com', query: undefined, plan: undefined });
  });

  it('keeps a not-found answer for the screen', async () => {
    const fake = fakeApi();
    const store = createRestoreStore(fake.api);
    fake.answer('restore.accounts', () => ok([{ email: 'anna@example.com', zimbraId: 'z1' }]));
    fake.answer('restore.plan', () => ({
      ok: false,
      error: { code: 'not-found', message: 'no completed full backup of anna@example.com in this target.' },
    }));
    await store.getState().loadAccounts('mail1');
    await store.getState().planTo(1);
    expect(store.getState()).toMatchObject({
      plan: undefined,
      busy: undefined,
      error: { code: 'not-found' },
    });
  });
});
