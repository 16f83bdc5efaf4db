import { describe, expect, it } from 'vitest';
import type { JobSnapshot, StandbyFailoverPreview, StandbyStatus } from '../../../src-main/api/contract';
import { createStandbyStore } from '../../../src-renderer/stores/standby';
import { fakeApi, ok, settle } from './fake-api';

const T = Date.UTC(2026, 11, 1, 8, 0, 0);
const set = {
  fromTime: T,
  complete: true,
  newest: true,
  volumes: {
    mysql: { id: 'mysql-1', takenAt: T },
    blobs: { id: 'blobs-1', takenAt: T + 4000 },
    index: { id: 'index-1', takenAt: T + 7000 },
    redolog: { id: 'redolog-1', takenAt: T + 9000 },
  },
};
const status = (serverId: string): StandbyStatus => ({
  serverId,
  standby: { serverId: 'mail2', name: 'Mail standby', dir: '/opt/zimbra/standby' },
  primary: { hostname: 'mail1.example.com', zimbraHome: '/opt/zimbra' },
  now: T + 60_000,
  volumes: [],
  sets: [set],
  failoverFrom: T,
  lastRedoSnapshot: T + 9000,
  redoLogs: 3,
  lastError: null,
});
const preview: StandbyFailoverPreview = {
  serverId: 'mail1',
  standby: { serverId: 'mail2', name: 'Mail standby' },
  set,
  fromTime: T,
  lastRedoSnapshot: T + 9000,
  dataLoss: { from: T + 9000, to: T + 300_000, toIsFailureTime: true, ms: 291_000 },
  mailboxes: [{ mailboxId: 3, ops: 12 }],
  warnings: [],
};
const job = { id: 'job-f', seq: 1, state: 'running' } as JobSnapshot;

describe('standby store', () => {
  it('reads the status, walks the wizard through the preview and starts exactly the confirmed failover', async () => {
    const fake = fakeApi();
    fake.answer('standby.status', ({ serverId }) => ok(status(serverId)));
    fake.answer('standby.failover.preview', () => ok(preview));
    fake.answer('standby.failover', ({ confirm }) =>
      confirm === 'Mail standby'
        ? ok(job)
        : { ok: false, error: { code: 'bad-request', message: 'Type the standby name' } },
    );
    const store = createStandbyStore(fake.api);
    await store.getState().load('mail1');
    expect(store.getState().status?.sets[0]?.newest).toBe(true);
    expect(store.getState().unlinked).toBe(false);

    // Not startable before the preview was seen.
    store.getState().openWizard();
    expect(await store.getState().start('Mail standby')).toBeUndefined();
    expect(fake.callsOf('standby.failover')).toEqual([]);

    await store.getState().review(T + 300_000);
    expect(fake.callsOf('standby.failover.preview')).toEqual([
      { serverId: 'mail1', failedAtMs: T + 300_000 },
    ]);
    expect(store.getState().step).toBe('confirm');
    expect(store.getState().preview?.dataLoss.ms).toBe(291_000);

    expect(await store.getState().start('mail standby')).toBeUndefined();
    expect(store.getState().error?.code).toBe('bad-request');
    expect(store.getState().step).toBe('confirm');

    const started = await store.getState().start('Mail standby', T + 300_000);
    expect(started?.id).toBe('job-f');
    expect(store.getState()).toMatchObject({ step: 'job', jobId: 'job-f', error: undefined });
    expect(fake.callsOf('standby.failover').at(-1)).toEqual({
      serverId: 'mail1',
      confirm: 'Mail standby',
      failedAtMs: T + 300_000,
    });

    // The job's end re-reads the standby's records.
    const before = fake.callsOf('standby.status').length;
    fake.emit('job.event', {
      jobId: 'job-f',
      seq: 5,
      at: 1,
      kind: 'finished',
      job: { ...job, state: 'succeeded' },
    });
    await settle();
    expect(fake.callsOf('standby.status').length).toBe(before + 1);
  });

  it('offers to name a standby when the server has none, and names it', async () => {
    const fake = fakeApi();
    let linked = false;
    fake.answer('standby.status', ({ serverId }) =>
      linked ? ok(status(serverId)) : ok({ serverId, unlinked: true as const }),
    );
    fake.answer('standby.link', () => {
      linked = true;
      return ok({});
    });
    const store = createStandbyStore(fake.api);
    await store.getState().load('mail1');
    expect(store.getState()).toMatchObject({ unlinked: true, error: undefined, status: undefined });
    await store.getState().link('mail2', '/srv/standby');
    expect(fake.callsOf('standby.link')).toEqual([
      { serverId: 'mail1', link: { standbyServerId: 'mail2', dir: '/srv/standby' } },
    ]);
    expect(store.getState()).toMatchObject({ unlinked: false });
    expect(store.getState().status?.standby.name).toBe('Mail standby');
  });

  it('keeps another failure for the screen, and forgets the wizard on another server', async () => {
    const fake = fakeApi();
    fake.answer('standby.status', ({ serverId }) =>
      serverId === 'far'
        ? { ok: false, error: { code: 'unreachable', message: 'far cannot be reached' } }
        : ok(status(serverId)),
    );
    const store = createStandbyStore(fake.api);
    await store.getState().load('mail1');
    store.getState().openWizard();
    await store.getState().load('far');
    expect(store.getState()).toMatchObject({ step: 'closed', status: undefined, unlinked: false });
    expect(store.getState().error?.code).toBe('unreachable');
  });
});
