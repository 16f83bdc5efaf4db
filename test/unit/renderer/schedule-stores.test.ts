import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobNotice, LogLine, ServerSchedule } from '../../../src-main/api/contract';
import { cronOf, entryText, simpleOf, whenText } from '../../../src-renderer/schedule-text';
import { createLogStore, filterLines } from '../../../src-renderer/stores/log';
import {
  createNotificationsStore,
  type BrowserNotifications,
} from '../../../src-renderer/stores/notifications';
import { createScheduleStore } from '../../../src-renderer/stores/schedule';
import { fakeApi, ok, settle } from './fake-api';

const schedule = (serverId: string, over: Partial<ServerSchedule> = {}): ServerSchedule => ({
  serverId,
  entries: [{ kind: 'full', cron: '0 1 * * 6', zimbra: 'f 0 1 * * 6' }],
  zimbra: '',
  command: '',
  place: { kind: 'workstation', where: 'this machine (pull)', crontab: 'crontab' },
  next: [],
  missed: [],
  attempts: [],
  problems: [],
  ...over,
});

describe('schedule text', () => {
  it('reads entries as people do', () => {
    expect(whenText('0 1 * * 6')).toBe('Saturdays 01:00');
    expect(whenText('0 1 * * 0-5')).toBe('Sunday to Friday 01:00');
    expect(whenText('30 13 * * 1-5')).toBe('Weekdays 13:30');
    expect(whenText('0 0 * * *')).toBe('Every day 00:00');
    expect(whenText('0 2 * * sat,sun')).toBe('Weekends 02:00');
    expect(whenText('0 2 * * 1,3')).toBe('Mon, Wed 02:00');
    expect(whenText('*/15 * * * *')).toBe('cron */15 * * * *');
    expect(whenText('0 1 1 * *')).toBe('cron 0 1 1 * *');
    expect(entryText({ kind: 'full', cron: '0 1 * * 6' })).toBe('Full — Saturdays 01:00');
    expect(entryText({ kind: 'delete', cron: '0 0 * * *', age: '1m' })).toBe(
      'Delete old — older than 1 month, every day 00:00',
    );
  });

  it('turns the pickers into cron and back', () => {
    expect(cronOf({ hour: 1, minute: 0, days: [0, 1, 2, 3, 4, 5] })).toBe('0 1 * * 0-5');
    expect(cronOf({ hour: 23, minute: 5, days: [6, 0] })).toBe('5 23 * * 0,6');
    expect(cronOf({ hour: 0, minute: 0, days: [0, 1, 2, 3, 4, 5, 6] })).toBe('0 0 * * *');
    expect(cronOf({ hour: 3, minute: 0, days: [1, 3, 4, 5] })).toBe('0 3 * * 1,3-5');
    expect(simpleOf('0 1 * * 1-7')).toEqual({ hour: 1, minute: 0, days: [0, 1, 2, 3, 4, 5, 6] });
    expect(simpleOf('0 1 * * 7')).toEqual({ hour: 1, minute: 0, days: [0] });
    for (const t of [
      { hour: 4, minute: 30, days: [2] },
      { hour: 12, minute: 0, days: [1, 2, 5] },
    ])
      expect(simpleOf(cronOf(t))).toEqual(t);
  });
});

describe('schedule store', () => {
  it('loads a server, drops the answer for a server no longer shown', async () => {
    const fake = fakeApi();
    let release: () => void = () => undefined;
    fake.answer('schedules.get', async ({ serverId }) => {
      if (serverId === 'slow') await new Promise<void>((r) => (release = r));
      return ok(schedule(serverId));
    });
    const store = createScheduleStore(fake.api);
    const slow = store.getState().load('slow');
    await store.getState().load('mail1');
    release();
    await slow;
    expect(store.getState()).toMatchObject({
      serverId: 'mail1',
      status: 'ready',
      data: { serverId: 'mail1' },
    });
  });

  it('save: the answer replaces the data; a bad-request stays as the error with the data kept', async () => {
    const fake = fakeApi();
    fake.answer('schedules.get', ({ serverId }) => ok(schedule(serverId)));
    fake.answer('schedules.save', ({ serverId, entries }) =>
      entries[0]!.cron === 'bad'
        ? {
            ok: false,
            error: { code: 'bad-request', message: 'Entry 1: f: "bad": a schedule needs five fields' },
          }
        : ok(schedule(serverId, { entries: entries.map((e) => ({ ...e, zimbra: 'x' })) })),
    );
    const store = createScheduleStore(fake.api);
    await store.getState().load('mail1');
    expect(await store.getState().save([{ kind: 'full', cron: 'bad' }])).toBe(false);
    expect(store.getState().error?.message).toContain('"bad"');
    expect(store.getState().data?.entries[0]!.cron).toBe('0 1 * * 6');
    expect(await store.getState().save([{ kind: 'incremental', cron: '0 2 * * *' }])).toBe(true);
    expect(store.getState()).toMatchObject({ error: undefined, saving: false });
    expect(store.getState().data?.entries[0]).toMatchObject({ kind: 'incremental', cron: '0 2 * * *' });
    expect(fake.callsOf('schedules.save')).toHaveLength(2);
  });

  it('reloads on schedules.changed and when a job of that server ends, not for others', async () => {
    const fake = fakeApi();
    fake.answer('schedules.get', ({ serverId }) => ok(schedule(serverId)));
    const store = createScheduleStore(fake.api);
    await store.getState().load('mail1');
    fake.emit('schedules.changed', { serverId: 'other' });
    fake.emit('schedules.changed', { serverId: 'mail1' });
    fake.emit('job.notice', notice({ serverId: 'mail1' }));
    await settle();
    expect(fake.callsOf('schedules.get')).toHaveLength(3);
  });
});

const line = (seq: number, over: Partial<LogLine> = {}): LogLine => ({
  seq,
  at: seq * 1000,
  level: 'info',
  message: `line ${seq}`,
  ...over,
});

describe('log store', () => {
  it('lists newest first, keeps lines pushed while listing, filters by server and level', async () => {
    const fake = fakeApi();
    const store = createLogStore(fake.api);
    fake.answer('log.list', async () => {
      fake.emit('log.line', line(4, { level: 'error', serverId: 'mail1' }));
      return ok([line(3, { serverId: 'mail2', level: 'warn' }), line(2, { serverId: 'mail1' }), line(1)]);
    });
    await store.getState().load();
    fake.emit('log.line', line(5, { serverId: 'mail1' }));
    fake.emit('log.line', line(5, { serverId: 'mail1' }));
    const lines = store.getState().lines;
    expect(lines.map((l) => l.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(filterLines(lines, { serverId: 'mail1' }).map((l) => l.seq)).toEqual([5, 4, 2]);
    expect(filterLines(lines, { level: 'warn' }).map((l) => l.seq)).toEqual([4, 3]);
    expect(filterLines(lines, { level: 'error', serverId: 'mail2' })).toEqual([]);
  });
});

const notice = (over: Partial<JobNotice> = {}): JobNotice => ({
  jobId: 'job-1',
  serverId: 'mail1',
  state: 'succeeded',
  title: 'Full backup of Mail 1 finished',
  body: 'full-20261201.010000.000: 3 account(s) in 12 s',
  urgent: false,
  ...over,
});

function fakeBrowser(permission: 'default' | 'granted' | 'denied') {
  const shown: { title: string; options?: { body?: string } }[] = [];
  const Browser = class {
    static permission = permission;
    static async requestPermission() {
      Browser.permission = 'granted';
      return 'granted' as const;
    }
    constructor(title: string, options?: { body?: string }) {
      shown.push({ title, options });
    }
  };
  return { Browser: Browser as unknown as BrowserNotifications, shown };
}

describe('notifications store', () => {
  afterEach(() => vi.useRealTimers());

  it('web console with permission: the browser notification, no toast', () => {
    const fake = fakeApi();
    const { Browser, shown } = fakeBrowser('granted');
    const store = createNotificationsStore(fake.api, () => 'web', Browser);
    fake.emit('job.notice', notice());
    expect(shown).toEqual([
      { title: 'Full backup of Mail 1 finished', options: expect.objectContaining({ body: notice().body }) },
    ]);
    expect(store.getState().toasts).toEqual([]);
  });

  it('without permission: a toast; a failure stays, a success goes after 10 s; asking grants', async () => {
    vi.useFakeTimers();
    const fake = fakeApi();
    const { Browser, shown } = fakeBrowser('default');
    const store = createNotificationsStore(fake.api, () => 'web', Browser);
    expect(store.getState().permission).toBe('default');
    fake.emit('job.notice', notice());
    fake.emit('job.notice', notice({ jobId: 'job-2', state: 'failed', title: 'failed', urgent: true }));
    expect(store.getState().toasts.map((t) => t.jobId)).toEqual(['job-1', 'job-2']);
    vi.advanceTimersByTime(10_001);
    expect(store.getState().toasts.map((t) => t.jobId)).toEqual(['job-2']);
    store.getState().dismiss(store.getState().toasts[0]!.id);
    expect(store.getState().toasts).toEqual([]);
    await store.getState().ask();
    expect(store.getState().permission).toBe('granted');
    fake.emit('job.notice', notice({ jobId: 'job-3' }));
    expect(shown).toHaveLength(1);
    expect(store.getState().toasts).toEqual([]);
  });

  it('no browser API: toasts; Electron: nothing here (the main process notifies)', () => {
    const fake = fakeApi();
    const web = createNotificationsStore(fake.api, () => 'web', undefined);
    // The shell is known once app.info has answered, after the store was made.
    const info: { shell?: 'web' | 'electron' } = {};
    const electron = createNotificationsStore(fake.api, () => info.shell, fakeBrowser('granted').Browser);
    info.shell = 'electron';
    fake.emit('job.notice', notice());
    expect(web.getState()).toMatchObject({ permission: 'unsupported', toasts: [{ jobId: 'job-1' }] });
    expect(electron.getState()).toMatchObject({ permission: 'electron', toasts: [] });
  });
});
