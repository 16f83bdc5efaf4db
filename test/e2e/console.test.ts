import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerSummary } from '../../src-main/api/contract';
import type { EventHub } from '../../src-main/api/events';
import { ApiFailure } from '../../src-main/api/failure';
import { wireOf } from '../../src-main/api/session-columns';
import { redoCoverage } from '../../src-main/api/timeline';
import { FAKE_SERVERS, fakeApi } from '../unit/api/fake-api';
import {
  checkPrerequisites,
  chromiumPath,
  haveChromium,
  mustRun,
  pagesPerTest,
  screenshot,
  serveConsole,
  type ServedConsole,
} from './browser';
import { defaultScheduleOf, yearOfSessions } from './fake-timeline';

// The real console (the built renderer) in Chromium, over the web host, with fake servers behind
// the API: this is about the UI/API seam, not the lab. Build first: npx electron-vite build.
if (!haveChromium && !mustRun) {
  console.warn(
    `[e2e] SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

describe.skipIf(!haveChromium && !mustRun)('the console in Chromium', () => {
  let api: ReturnType<typeof fakeApi>;
  let ui: ServedConsole;
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-e2e-'));

  beforeAll(async () => {
    checkPrerequisites();
    api = fakeApi(structuredClone(FAKE_SERVERS));
    ui = await serveConsole(api);
  });

  afterAll(async () => {
    await ui?.close();
  });

  const openPage = pagesPerTest(() => ui.browser);
  /** A fresh page (own session storage) that fails the test on any console error or CSP violation. */
  const open = (url: string, viewport = { width: 1100, height: 560 }) => openPage(url, viewport);

  const rowsText = (page: Page, testId: string) =>
    page.locator(`[data-testid=server-row] [data-testid=${testId}]`).allInnerTexts();

  it('lists the servers that servers.list returns', async () => {
    const { page, problems } = await open(ui.host.url);
    await expect(page.getByTestId('app-title').innerText()).resolves.toBe('Mailvault');
    await page
      .getByTestId('server-row')
      .nth(FAKE_SERVERS.length - 1)
      .waitFor();

    expect(await page.getByTestId('server-row').count()).toBe(FAKE_SERVERS.length);
    expect(await page.locator('[data-testid=server-row] .server-name').allInnerTexts()).toEqual([
      'Mail 1',
      'Mail 2',
    ]);
    expect(await rowsText(page, 'server-hostname')).toEqual(['mail1.example.com', 'mail2.example.com']);
    expect(await rowsText(page, 'server-access')).toEqual(['Local', 'SSH root@mail2.example.com:22']);
    expect(await rowsText(page, 'server-status')).toEqual(['Online', 'Offline']);
    expect(await rowsText(page, 'server-last-full')).toEqual(['never', 'never']);
    expect(await page.getByTestId('app-version').innerText()).toBe('v0.0.0-test');
    // The token left the address bar once taken.
    expect(new URL(page.url()).hash).toBe('');

    const screenshot = path.join(shots, 'servers.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`[e2e] screenshot: ${screenshot}`);
    expect(problems).toEqual([]);
  });

  it('refreshes the list when the main side pushes servers.changed', async () => {
    const streamOpen = nextSubscriber(api.events);
    const { page, problems } = await open(ui.host.url);
    await page
      .getByTestId('server-row')
      .nth(FAKE_SERVERS.length - 1)
      .waitFor();
    await streamOpen;

    const sandbox: ServerSummary = {
      id: 'lab',
      name: 'Sandbox',
      hostname: 'mail.lab.test',
      access: 'ssh',
      address: 'zimbra@127.0.0.1:2222',
      status: 'starting',
      detail: 'Starting MariaDB, OpenLDAP and OpenSSH',
      sandbox: true,
    };
    api.state.servers = [...FAKE_SERVERS, sandbox];
    api.events.emit('servers.changed', {});
    const row = page.locator('[data-testid=server-row][data-server-id=lab]');
    await row.waitFor();
    expect(await row.getByTestId('server-name').innerText()).toContain('Sandbox');
    expect(await row.getByTestId('server-status').getAttribute('data-status')).toBe('starting');
    await page.screenshot({ path: path.join(shots, 'servers-with-sandbox.png'), fullPage: true });
    expect(problems).toEqual([]);
    api.state.servers = structuredClone(FAKE_SERVERS);
  });

  it('draws a year of 5,000 sessions, selects one by clicking the canvas, zooms by keyboard, in light and dark', async () => {
    const sessions = yearOfSessions(5000, Date.now());
    const { coverage, gaps } = redoCoverage(sessions);
    api.answer('sessions.list', ({ serverId }) => wireOf({ serverId, sessions, coverage, gaps }));
    api.answer('schedules.get', ({ serverId }) => ({
      ...defaultScheduleOf(serverId, Date.now()),
      next: [],
      missed: [],
    }));
    api.answer('sessions.get', ({ label }) => {
      const found = sessions.find((s) => s.label === label);
      if (!found) throw new ApiFailure('not-found', `no ${label}`);
      return { ...found, accountList: [], warnings: [] };
    });
    const { page, problems } = await open(`${ui.host.url}&view=timeline/mail1`, { width: 1280, height: 900 });
    const canvas = page.getByTestId('timeline-canvas');
    await page.locator('[data-testid=timeline-canvas][data-sessions-drawn="5000"]').waitFor();
    expect(await page.getByTestId('timeline-count').innerText()).toBe('5000 session(s), 5000 in view');
    // The gap (logs lost once) is listed.
    expect(await page.getByTestId('timeline-gaps').innerText()).toContain('redo logs');
    await screenshot(page, '11-timeline-5000-light');

    // Zoom in on the newest part by keyboard, then click the last full on the canvas.
    await canvas.focus();
    for (let i = 0; i < 6; i++) await page.keyboard.press('-');
    await page.keyboard.press('0');
    for (let i = 0; i < 8; i++) await page.keyboard.press('+');
    const drawn = Number(await canvas.getAttribute('data-sessions-drawn'));
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(5000);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const box = (await canvas.boundingBox())!;
    // Walk along the full lane until a click selects a full backup.
    let selected: string | null = null;
    for (let x = box.x + box.width - 12; x > box.x + 100 && !selected; x -= 3) {
      await page.mouse.click(x, box.y + 62);
      if (await page.getByTestId('session-detail').count())
        selected = await page.locator('.session-detail h3').innerText();
    }
    expect(selected).toMatch(/^full-/);
    await screenshot(page, '12-timeline-zoomed-selected');

    await page.getByTestId('theme-toggle').click(); // auto -> dark
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await screenshot(page, '13-timeline-dark');
    await page.getByTestId('tab-servers').click();
    await screenshot(page, '14-servers-dark');
    expect(problems).toEqual([]);
  });

  it('without the token, says how to get in and lists nothing', async () => {
    const { page } = await open(ui.host.origin);
    const error = page.getByTestId('servers-error');
    await error.waitFor();
    expect(await error.innerText()).toContain('npm start');
    expect(await page.getByTestId('server-row').count()).toBe(0);
    await page.screenshot({ path: path.join(shots, 'no-token.png'), fullPage: true });
  });
});

/** Resolves when the next listener subscribes to the hub: the web host does so as a page's event stream opens. */
function nextSubscriber(events: EventHub): Promise<void> {
  const subscribe = events.subscribe;
  return new Promise((resolve) => {
    events.subscribe = (listener) => {
      events.subscribe = subscribe;
      resolve();
      return subscribe(listener);
    };
  });
}
