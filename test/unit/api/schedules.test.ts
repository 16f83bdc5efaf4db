import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerSchedule } from '../../../src-main/api/contract';
import { createConsole, type Console } from '../../../src-main/api/create-console';
import { createEventHub } from '../../../src-main/api/events';
import { NO_SECRET_BOX } from '../../../src-main/api/secrets';
import { startAttempt } from '../../../src-main/engine/schedule/attempts';
import { standInCrontab } from '../../helpers/stand-in-crontab';

/**
 * schedules.get/save/remove through the console's dispatch, against a stand-in crontab command
 * in a temp dir (the real `crontab` is exercised in test/integration/schedule.test.ts): what is
 * installed is read back by the engine, bad cron is a bad-request naming it with nothing
 * changed, and the attempts on record (a failed one with its error) and missed runs are shown.
 */
const fakeWorker = fileURLToPath(new URL('./fake-backup-worker.mjs', import.meta.url));
const at = (d: number, h: number, m = 0) => new Date(2026, 11, d, h, m).getTime();

let dir: string;
let mailvault: Console;
let crontab: ReturnType<typeof standInCrontab>;
let nowMs = at(14, 12); // Monday 14 December 2026, noon
const events: { name: string; payload: unknown }[] = [];

async function call<T>(name: string, req: unknown): Promise<T> {
  const answer = await mailvault.dispatch(name, req);
  if (!answer.ok) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
  return answer.value as T;
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-schedules-api-'));
  crontab = standInCrontab(dir);
  fs.writeFileSync(crontab.file, "# the administrator's own\n17 3 * * * /usr/bin/true\n");
  const hub = createEventHub();
  hub.subscribe((m) => events.push(m));
  mailvault = createConsole({
    info: { name: 'Mailvault', version: '0.0.0-test', shell: 'web' },
    configDir: path.join(dir, 'config'),
    secrets: NO_SECRET_BOX,
    events: hub,
    launchWorker: () => fork(fakeWorker, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
    schedules: { crontab: crontab.command, now: () => nowMs },
  });
  await call('servers.save', {
    profile: { name: 'Mail', access: 'local', zimbraHome: '/opt/zimbra', target: path.join(dir, 'target') },
  });
});

afterEach(async () => {
  await mailvault.stop();
  events.length = 0;
  nowMs = at(14, 12);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('schedules.* (local server, its crontab here)', () => {
  it('starts empty, installs entries with the engine, reads them back with next runs, removes them', async () => {
    const empty = await call<ServerSchedule>('schedules.get', { serverId: 'mail' });
    expect(empty).toMatchObject({ entries: [], next: [], missed: [], attempts: [], problems: [] });
    expect(empty.place).toMatchObject({ kind: 'server', where: 'this machine' });

    const saved = await call<ServerSchedule>('schedules.save', {
      serverId: 'mail',
      entries: [
        { kind: 'full', cron: '0 1 * * 6' },
        { kind: 'incremental', cron: '0 1 * * 0-5' },
        { kind: 'delete', cron: '0 0 * * *', age: '1m' },
      ],
    });
    expect(saved.entries.map((e) => e.zimbra)).toEqual([
      `f 0 1 * * 6 -t ${path.join(dir, 'target')}`,
      `i 0 1 * * 0-5 -t ${path.join(dir, 'target')}`,
      `d 1m 0 0 * * * -t ${path.join(dir, 'target')}`,
    ]);
    expect(saved.command).toContain('zmschedulebackup -R --zimbra-home /opt/zimbra -t');
    // The crontab holds our block after the administrator's line, which is kept.
    const text = crontab.read();
    expect(text.startsWith("# the administrator's own\n17 3 * * * /usr/bin/true\n")).toBe(true);
    expect(text).toContain('# BEGIN mailvault zmschedulebackup for local /opt/zimbra');
    expect(text.match(/'zmbackup' '--unattended' '--sync'/g)).toHaveLength(3);
    // Next 7 days from Monday noon: incrementals Tue–Fri, Sunday and Monday, the full Saturday, deletes daily.
    expect(saved.next.filter((r) => r.kind === 'full').map((r) => r.atMs)).toEqual([at(19, 1)]);
    expect(saved.next.filter((r) => r.kind === 'incremental')).toHaveLength(6);
    expect(saved.next.filter((r) => r.kind === 'delete')).toHaveLength(7);
    expect(saved.next.every((r) => r.atMs > nowMs && r.atMs <= nowMs + 7 * 86_400_000)).toBe(true);
    expect(events).toContainEqual({ name: 'schedules.changed', payload: { serverId: 'mail' } });

    const removed = await call<ServerSchedule>('schedules.remove', { serverId: 'mail' });
    expect(removed.entries).toEqual([]);
    expect(crontab.read()).toBe("# the administrator's own\n17 3 * * * /usr/bin/true\n");
  });

  it('bad cron or age: bad-request naming the value, the crontab unchanged', async () => {
    await call('schedules.save', { serverId: 'mail', entries: [{ kind: 'full', cron: '0 1 * * 6' }] });
    const before = crontab.read();
    for (const [entry, named] of [
      [{ kind: 'full', cron: '0 25 * * 6' }, '0 25 * * 6'],
      [{ kind: 'incremental', cron: '@daily' }, '@daily'],
      [{ kind: 'full', cron: '0 1 * *' }, '0 1 * *'],
      [{ kind: 'delete', cron: '0 0 * * *', age: '0d' }, '0d'],
      [{ kind: 'delete', cron: '0 0 * * *' }, 'd'],
      [{ kind: 'full', cron: '0 1 * * 6', age: '1m' }, 'only a delete entry takes an age'],
    ] as const) {
      const answer = await mailvault.dispatch('schedules.save', { serverId: 'mail', entries: [entry] });
      expect(answer.ok, JSON.stringify(entry)).toBe(false);
      if (answer.ok) continue;
      expect(answer.error.code).toBe('bad-request');
      expect(answer.error.message).toContain(named);
    }
    expect(crontab.read()).toBe(before);
  });

  it('shows the attempts on record, the failed one with its error, and a missed run', async () => {
    nowMs = at(4, 12); // installed on Friday 4 December
    await call('schedules.save', { serverId: 'mail', entries: [{ kind: 'full', cron: '0 1 * * 6' }] });
    nowMs = at(14, 12);
    const target = path.join(dir, 'target');
    const ok = await startAttempt(target, { kind: 'full', server: 'mail (/opt/zimbra)', nowMs: at(5, 1, 0) });
    await ok.finish({ exitCode: 0, labels: ['full-20261205.010000.000'], error: null, report: null });
    // Saturday 12th: the machine was off, no attempt. Sunday: a run by hand found the target locked.
    const locked = await startAttempt(target, {
      kind: 'full',
      server: 'mail (/opt/zimbra)',
      nowMs: at(13, 3),
    });
    const message = 'The backup target is in use: full backup by process 42 on mail since 02:59';
    await locked.finish({ exitCode: 1, labels: [], error: message, report: null });
    // Another server's attempt in the same target is not this one's.
    await (
      await startAttempt(target, { kind: 'full', server: 'ssh://root@other:22', nowMs: at(13, 4) })
    ).finish({ exitCode: 0, labels: [], error: null, report: null });

    const schedule = await call<ServerSchedule>('schedules.get', { serverId: 'mail' });
    expect(schedule.attempts.map((a) => [a.status, a.startMs, a.error])).toEqual([
      ['failed', at(13, 3), message],
      ['succeeded', at(5, 1), null],
    ]);
    expect(schedule.missed).toEqual([{ kind: 'full', atMs: at(12, 1) }]);
  });

  it('a schedule installed by the console that never ran: its missed runs show from the install', async () => {
    nowMs = at(3, 12); // Thursday 3 December: installed; the machine then stays off.
    await call('schedules.save', { serverId: 'mail', entries: [{ kind: 'full', cron: '0 1 * * 6' }] });
    nowMs = at(14, 12);
    const schedule = await call<ServerSchedule>('schedules.get', { serverId: 'mail' });
    expect(schedule.attempts).toEqual([]);
    expect(schedule.missed).toEqual([
      { kind: 'full', atMs: at(5, 1) },
      { kind: 'full', atMs: at(12, 1) },
    ]);
    // Changed behind the console's back (another install): counted from the first attempt again.
    fs.writeFileSync(crontab.file, crontab.read().replace(/^0 1 \* \* 6 /m, '0 2 * * 6 '));
    expect((await call<ServerSchedule>('schedules.get', { serverId: 'mail' })).missed).toEqual([]);
  });

  it('the log view lists saves and failed requests, newest first, never a passphrase', async () => {
    await call('schedules.save', { serverId: 'mail', entries: [{ kind: 'full', cron: '0 1 * * 6' }] });
    await mailvault.dispatch('schedules.save', { serverId: 'mail', entries: [{ kind: 'full', cron: 'x' }] });
    const secret = 'correct horse battery staple';
    await mailvault.dispatch('servers.save', {
      profile: {
        name: 'Remote',
        access: 'ssh',
        ssh: { host: 'mail.example', port: 22, user: 'root', auth: 'key', keyPath: '/k' },
        zimbraHome: '/opt/zimbra',
        target: '/backup',
        passphrase: secret,
      },
    });
    const lines = await call<{ level: string; message: string; serverId?: string }[]>('log.list', {});
    expect(lines[0]!.message).toMatch(/^servers\.save failed: /);
    expect(lines[1]).toMatchObject({ level: 'warn', serverId: 'mail' });
    expect(lines[1]!.message).toContain('"x"');
    expect(lines.some((l) => l.message === 'Schedule installed' && l.serverId === 'mail')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(secret);
    expect(await call<unknown[]>('log.list', { level: 'warn' })).toHaveLength(
      lines.filter((l) => l.level !== 'info').length,
    );
    expect(await call<unknown[]>('log.list', { serverId: 'nope' })).toEqual([]);
    expect(events.some((e) => e.name === 'log.line')).toBe(true);
  });
});
