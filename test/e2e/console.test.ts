import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerSummary } from '../../src-main/api/contract';
import type { EventHub } from '../../src-main/api/events';
import { startWebHost, type WebHost } from '../../src-main/host/web-host';
import { FAKE_SERVERS, fakeApi } from '../unit/api/fake-api';

// The real console (the built renderer) in Chromium, over the web host, with fake servers behind
// the API: this is about the UI/API seam, not the lab. Build first: npx electron-vite build.
const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(chromiumPath);
const mustRun = !!process.env.CI && process.env.CI !== 'false';
if (!haveChromium && !mustRun) {
  console.warn(
    `[e2e] SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

describe.skipIf(!haveChromium && !mustRun)('the console in Chromium', () => {
  let api: ReturnType<typeof fakeApi>;
  let host: WebHost;
  let browser: Browser;
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-e2e-'));

  beforeAll(async () => {
    if (!haveChromium)
      throw new Error(`No Chromium at ${chromiumPath}, and CI must run the end-to-end tests.`);
    if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
      throw new Error(`${rendererDir}/index.html is missing: run \`npx electron-vite build\` first.`);
    }
    api = fakeApi(structuredClone(FAKE_SERVERS));
    host = await startWebHost({ rendererDir, dispatch: api.dispatch, events: api.events });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  const contexts: BrowserContext[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  /** A fresh page (own session storage) that fails the test on any console error or CSP violation. */
  async function open(url: string): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 560 } });
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(url);
    return { page, problems };
  }

  const rowsText = (page: Page, testId: string) =>
    page.locator(`[data-testid=server-row] [data-testid=${testId}]`).allInnerTexts();

  it('lists the servers that servers.list returns', async () => {
    const { page, problems } = await open(host.url);
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
    const { page, problems } = await open(host.url);
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

  it('without the token, says how to get in and lists nothing', async () => {
    const { page } = await open(host.origin);
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
