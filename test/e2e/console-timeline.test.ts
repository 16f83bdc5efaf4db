import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../src-main/api/contract';
import { ApiFailure } from '../../src-main/api/failure';
import { labelOf, wireOf } from '../../src-main/api/session-columns';
import { redoCoverage } from '../../src-main/api/timeline';
import { FAKE_SERVERS, fakeApi } from '../unit/api/fake-api';
import {
  checkPrerequisites,
  haveChromium,
  mustRun,
  pagesPerTest,
  screenshot,
  serveConsole,
  type ServedConsole,
} from './browser';
import { defaultScheduleOf } from './fake-timeline';

// The timeline's all-servers view and the schedule's planned and missed runs, in the built console
// in Chromium over the web host, with fake servers behind the API. Build first: npx electron-vite build.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Three weeks of nightly backups at 01:00 (a full on Saturdays), ending `skip` nights ago. */
function nights(now: number, skip: number, failOn = -1): SessionInfo[] {
  const out: SessionInfo[] = [];
  for (let day = 21; day > skip; day--) {
    const d = new Date(now - day * DAY);
    d.setHours(1, 0, 0, 0);
    const startMs = d.getTime() + 123;
    const type = d.getDay() === 6 || day === 21 ? 'full' : 'incremental';
    const status = day === failOn ? 'failed' : 'completed';
    out.push({
      label: labelOf(type, startMs),
      type,
      startMs,
      endMs: startMs + (type === 'full' ? 50 : 4) * 60_000,
      status,
      hostname: null,
      accounts: 40,
      accountErrors: 0,
      bytes: type === 'full' ? 8e9 : 2e8,
      errors: status === 'failed' ? ['server unreachable'] : [],
      redoLogs: type === 'full' ? 0 : 1,
      redoTimeMs: null,
      redoSeq: type === 'full' ? null : { min: 100 - day, max: 100 - day },
    });
  }
  return out;
}

describe.skipIf(!haveChromium && !mustRun)('the timeline: all servers, planned and missed runs', () => {
  const api = fakeApi(structuredClone(FAKE_SERVERS));
  let ui: ServedConsole;
  const now = Date.now();
  const lists: Record<string, SessionInfo[]> = { mail1: nights(now, 2), mail2: nights(now, 0, 9) };
  /** The sessions the console asked for, in order: which server a click opened. */
  const opens: Array<{ serverId: string; label: string }> = [];

  beforeAll(async () => {
    checkPrerequisites();
    api.answer('sessions.list', ({ serverId }) => {
      const sessions = lists[serverId] ?? [];
      return wireOf({ serverId, sessions, ...redoCoverage(sessions) });
    });
    api.answer('sessions.get', ({ serverId, label }) => {
      opens.push({ serverId, label });
      const found = lists[serverId]?.find((s) => s.label === label);
      if (!found) throw new ApiFailure('not-found', `no ${label} on ${serverId}`);
      return { ...found, hostname: `${serverId}.example.com`, accountList: [], warnings: [] };
    });
    // mail1's machine was off the last two nights: those runs are missed. mail2 ran every night.
    api.answer('schedules.get', ({ serverId }) => {
      const schedule = defaultScheduleOf(serverId, now);
      return serverId === 'mail1' ? schedule : { ...schedule, missed: [] };
    });
    ui = await serveConsole(api);
  });

  afterAll(async () => {
    await ui?.close();
  });

  const openPage = pagesPerTest(() => ui.browser);
  const open = (view: string) => openPage(`${ui.host.url}&view=${view}`, { width: 1280, height: 900 });

  it("shows a server's next runs and, marked, the runs missed while its machine was off", async () => {
    const { page, problems } = await open('timeline/mail1');
    const missed = page.getByTestId('timeline-missed');
    await missed.waitFor();
    const schedule = defaultScheduleOf('mail1', now);
    expect(schedule.missed).toHaveLength(4); // two nights: a delete and a backup each
    expect(await missed.innerText()).toContain('4 scheduled run(s) did not start');
    expect(await page.getByTestId('timeline-planned').innerText()).toMatch(
      /^Next (full|incremental|delete) /,
    );

    // The missed runs' markers carry the tooltip.
    const canvas = page.getByTestId('timeline-canvas');
    await screenshot(page, '21-timeline-planned-missed');
    const box = (await canvas.boundingBox())!;
    let tip: string | null = null;
    // Along the incremental lane's middle, right to left, until a marker answers.
    for (let x = box.x + box.width - 10; x > box.x + 110 && !tip?.startsWith('missed'); x -= 2) {
      await page.mouse.move(x, box.y + 111);
      tip = await canvas.getAttribute('title');
    }
    expect(tip).toMatch(/^missed: machine off or run not started \(incremental, /);
    expect(problems).toEqual([]);
  });

  it('shows every server on one axis, one lane each; a click in a lane opens that server’s session', async () => {
    const { page, problems } = await open('timeline/mail1');
    await page.getByTestId('timeline-missed').waitFor();
    await page.getByTestId('server-picker').selectOption('*');
    const canvas = page.locator('[data-testid=timeline-canvas][data-scope=all]');
    await canvas.waitFor();
    const total = lists.mail1!.length + lists.mail2!.length;
    await page.locator(`[data-testid=timeline-canvas][data-sessions-drawn="${total}"]`).waitFor();
    expect(await page.getByTestId('timeline-count').innerText()).toBe(
      `2 server(s), ${total} session(s), ${total} in view`,
    );
    // The list names each session's server; mail2's failure is among them.
    const failed = page.locator('[data-testid=timeline-session][data-status=failed]');
    expect(await failed.getAttribute('data-server')).toBe('mail2');
    await screenshot(page, '22-timeline-all-servers');

    // Click along mail2's lane (the second) until a session opens: it is mail2's.
    const box = (await canvas.boundingBox())!;
    let opened: string | null = null;
    const asked = opens.length;
    for (let x = box.x + box.width - 40; x > box.x + 110 && !opened; x -= 3) {
      await page.mouse.click(x, box.y + 26 + 40 + 17);
      // A hit loads the session's details: wait for them before moving on (a loaded machine is slow).
      const detail = page.getByTestId('session-detail');
      if (opens.length > asked) await detail.waitFor({ timeout: 5000 }).catch(() => undefined);
      if (await detail.count()) opened = await page.locator('.session-detail h3').innerText();
    }
    expect(lists.mail2!.map((s) => s.label)).toContain(opened);
    // Both servers ran on most nights, under the same labels: the request says whose it was.
    expect(opens.at(-1)).toEqual({ serverId: 'mail2', label: opened });
    expect(new URL(page.url()).hash).toBe('#timeline/*');
    await screenshot(page, '23-timeline-all-servers-selected');

    // Back to one server.
    await page.getByTestId('server-picker').selectOption('mail2');
    await page.locator('[data-testid=timeline-canvas][data-scope=server]').waitFor();
    expect(await page.getByTestId('timeline-count').innerText()).toContain(
      `${lists.mail2!.length} session(s)`,
    );
    expect(problems).toEqual([]);
  });
});
