import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type ViewportSize } from 'playwright-core';
import { afterEach } from 'vitest';
import { createConsole, type Console, type ConsoleOptions } from '../../src-main/api/create-console';
import type { EventHub } from '../../src-main/api/events';
import type { Dispatch } from '../../src-main/api/handlers';
import { NO_SECRET_BOX } from '../../src-main/api/secrets';
import { startWebHost, type WebHost } from '../../src-main/host/web-host';
import { launchWorkerFromSource } from '../../src-main/jobs/launch-from-source';

/** Shared by the end-to-end files: where Chromium and the built renderer are, and how to start them. */
export const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = fs.existsSync(chromiumPath);
export const mustRun = !!process.env.CI && process.env.CI !== 'false';
/** Screenshots go here, for a person to look at (and CI to keep). */
export const shotsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

export function checkPrerequisites(): void {
  if (!haveChromium) throw new Error(`No Chromium at ${chromiumPath}, and CI must run the end-to-end tests.`);
  if (!fs.existsSync(path.join(rendererDir, 'index.html')))
    throw new Error(`${rendererDir}/index.html is missing: run \`npx electron-vite build\` first.`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** The built console served by a web host over `backend`, and Chromium to open it in. */
export interface ServedConsole {
  host: WebHost;
  browser: Browser;
  /** Closes Chromium, then the web host. */
  close(): Promise<void>;
}

export async function serveConsole(backend: {
  dispatch: Dispatch;
  events: EventHub;
}): Promise<ServedConsole> {
  checkPrerequisites();
  const host = await startWebHost({ rendererDir, dispatch: backend.dispatch, events: backend.events });
  // A host left open would keep the test process alive.
  const browser = await launchChromium().catch(async (error: unknown) => {
    await host.close();
    throw error;
  });
  return {
    host,
    browser,
    close: async () => {
      await browser.close();
      await host.close();
    },
  };
}

/**
 * The console as the web shell runs it, for the files that drive it against lab servers: jobs in
 * real worker processes (from the sources), its configuration under <dir>/config, its log on stdout.
 */
export function consoleForLab(
  dir: string,
  events: EventHub,
  parts: Pick<ConsoleOptions, 'sandbox' | 'schedules'> = {},
): Console {
  return createConsole({
    info: { name: 'Mailvault', version: '0.0.0-e2e', shell: 'web' },
    configDir: path.join(dir, 'config'),
    secrets: NO_SECRET_BOX,
    events,
    launchWorker: launchWorkerFromSource(),
    log: (line) => console.log(`[console] ${line}`),
    ...parts,
  });
}

/** A page and what went wrong in it; the tests expect `problems` to stay empty. */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions (and, when asked, HTTP responses of 400 and above). */
  problems: string[];
}

/** Opens url in a fresh context of browser (its own session storage), watched from before it loads. */
export async function openWatchedPage(
  browser: Browser,
  url: string,
  viewport: ViewportSize,
  watch: { httpErrors?: boolean } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(error.message));
  if (watch.httpErrors)
    page.on(
      'response',
      (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`),
    );
  await page.goto(url);
  return { context, page, problems };
}

/**
 * For files whose tests each open their own pages: opens them as openWatchedPage does and closes
 * their contexts after each test. Call it in the describe block (it registers the afterEach).
 */
export function pagesPerTest(
  browser: () => Browser,
): (url: string, viewport: ViewportSize) => Promise<WatchedPage> {
  const contexts: BrowserContext[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  return async (url, viewport) => {
    const opened = await openWatchedPage(browser(), url, viewport);
    contexts.push(opened.context);
    return opened;
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(shotsDir, { recursive: true });
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
