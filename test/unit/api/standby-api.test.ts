import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerSummary, StandbyStatus } from '../../../src-main/api/contract';
import { createConsole, type Console } from '../../../src-main/api/create-console';
import { createEventHub } from '../../../src-main/api/events';
import { NO_SECRET_BOX } from '../../../src-main/api/secrets';
import type { SnapshotEntry, StandbyVolume, VolumeRecord } from '../../../src-main/engine/standby/record';

// The standby requests over the real console and a standby directory on this machine (records as
// the snapshot engine writes them): naming a standby, the sets and lag read back, the preview's
// data-loss window, and a failover refused unless the standby's name is typed. The failover job
// itself runs against a lab in test/e2e/console-standby.test.ts.
const T = Date.now() - 3_600_000;

function entry(volume: StandbyVolume, takenAt: number, complete = true): SnapshotEntry {
  return {
    id: `${volume}-${takenAt}`,
    volume,
    takenAt,
    complete,
    files: 1,
    bytes: 10,
    removed: 0,
    resumedBytes: 0,
    attempts: 1,
    ...(complete ? {} : { error: 'ssh link closed' }),
  };
}

describe('standby requests', () => {
  let dir: string;
  let mailvault: Console;
  const call = (name: string, req: unknown) => mailvault.dispatch(name, req);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-standby-api-'));
    mailvault = createConsole({
      info: { name: 'Mailvault', version: '0.0.0-test', shell: 'web' },
      configDir: path.join(dir, 'config'),
      secrets: NO_SECRET_BOX,
      events: createEventHub(),
      launchWorker: () => {
        throw new Error('no job is started by these tests');
      },
    });
    for (const name of ['Primary', 'Standby'])
      await call('servers.save', {
        profile: {
          name,
          access: 'local',
          zimbraHome: path.join(dir, name),
          target: path.join(dir, `t-${name}`),
        },
      });
    // Two sets: an older complete one, and a newer one whose index snapshot failed.
    const records: Record<StandbyVolume, SnapshotEntry[]> = {
      mysql: [entry('mysql', T), entry('mysql', T + 1_800_000)],
      blobs: [entry('blobs', T + 3000), entry('blobs', T + 1_803_000)],
      index: [entry('index', T + 5000), entry('index', T + 1_805_000, false)],
      redolog: [entry('redolog', T + 7000), entry('redolog', T + 1_807_000)],
    };
    const recordDir = path.join(dir, 'Standby', 'standby', 'record');
    fs.mkdirSync(recordDir, { recursive: true });
    for (const [volume, snapshots] of Object.entries(records)) {
      const record: VolumeRecord = {
        version: 1,
        volume: volume as StandbyVolume,
        primary: { hostname: 'mail1.example.com', zimbraHome: '/opt/zimbra' },
        snapshots,
        ...(volume === 'redolog' ? { logs: [] } : {}),
      };
      fs.writeFileSync(path.join(recordDir, `${volume}.json`), JSON.stringify(record));
    }
  });

  afterEach(async () => {
    await mailvault.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names a standby, then reads its sets, the newest complete one, and each volume lag', async () => {
    expect(await call('standby.status', { serverId: 'primary' })).toEqual({
      ok: true,
      value: { serverId: 'primary', unlinked: true },
    });
    expect(
      await call('standby.link', { serverId: 'primary', link: { standbyServerId: 'primary' } }),
    ).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    expect(
      await call('standby.link', { serverId: 'primary', link: { standbyServerId: 'nobody' } }),
    ).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
    expect(await call('standby.link', { serverId: 'primary', link: { standbyServerId: 'standby' } })).toEqual(
      {
        ok: true,
        value: {},
      },
    );

    const answer = await call('standby.status', { serverId: 'primary' });
    expect(answer.ok).toBe(true);
    const status = (answer as { value: StandbyStatus }).value;
    expect(status.standby).toEqual({
      serverId: 'standby',
      name: 'Standby',
      dir: path.join(dir, 'Standby', 'standby'),
    });
    expect(status.primary?.hostname).toBe('mail1.example.com');
    expect(status.sets.map((s) => [s.fromTime, s.complete, s.newest])).toEqual([
      [T, true, true],
      [T + 1_800_000, false, false],
    ]);
    expect(status.sets[0]!.volumes.index).toEqual({ id: `index-${T + 5000}`, takenAt: T + 5000 });
    expect(status.failoverFrom).toBe(T);
    expect(status.lastRedoSnapshot).toBe(T + 1_807_000);
    const index = status.volumes.find((v) => v.volume === 'index')!;
    expect(index).toMatchObject({ takenAt: T + 5000, incomplete: 1, lastError: 'ssh link closed' });
    expect(index.lagMs).toBe(status.now - (T + 5000));
    expect(status.lastError).toBe('ssh link closed');

    // The servers list: the redo-log lag at a glance; about 30 min is late for redo logs (1.5 × 15 min).
    const servers = (await call('servers.list', {})) as { value: ServerSummary[] };
    const glance = servers.value.find((s) => s.id === 'primary')!.standby!;
    expect(glance).toMatchObject({ standbyServerId: 'standby', standbyName: 'Standby', failoverFrom: T });
    expect(glance.lagMs).toBeGreaterThanOrEqual(Date.now() - (T + 1_807_000) - 60_000);
    expect(glance.late).toEqual(['redolog']);
    expect(servers.value.find((s) => s.id === 'standby')!.standby).toBeUndefined();
  });

  it('previews the data-loss window and refuses a failover whose confirmation is not the standby name', async () => {
    await call('standby.link', { serverId: 'primary', link: { standbyServerId: 'standby' } });
    const failedAtMs = T + 1_900_000;
    const preview = await call('standby.failover.preview', { serverId: 'primary', failedAtMs });
    expect(preview).toMatchObject({
      ok: true,
      value: {
        fromTime: T,
        lastRedoSnapshot: T + 1_807_000,
        dataLoss: { from: T + 1_807_000, to: failedAtMs, toIsFailureTime: true, ms: 93_000 },
        mailboxes: [],
      },
    });
    for (const confirm of ['Primary', 'standby', 'Standb'])
      expect(await call('standby.failover', { serverId: 'primary', confirm }), confirm).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
    expect(mailvault.runner.list()).toEqual([]);
    // A server with no standby named: nothing to fail over to.
    expect(await call('standby.failover', { serverId: 'standby', confirm: 'Primary' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
  });
});
