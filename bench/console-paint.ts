/**
 * First paint of the console in Chromium (headless, the built renderer over the web host):
 *   - the Timeline screen of a server with 5,000 sessions (a year of weekly fulls and incrementals
 *     every ~1.7 h, some with errors, a few failed, one gap in the redo logs);
 *   - the Servers screen with 50 servers, each with its backup overview.
 * Baseline in the same run: the same console's first paint with no servers at all (the app shell,
 * one API round trip). Each figure is the median over fresh browser contexts, from navigation
 * start to the frame after the screen's data was drawn (performance marks set by the renderer).
 * Target: under 1 s each.
 *
 *   npx electron-vite build && node --import tsx bench/console-paint.ts [--rounds 7]
 *   node --import tsx bench/build-renderer.ts /tmp/r && node --import tsx bench/console-paint.ts --renderer /tmp/r
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { ServerSummary, ServerTimeline } from '../src-main/api/contract';
import { createEventHub } from '../src-main/api/events';
import { createDispatch } from '../src-main/api/handlers';
import { wireOf } from '../src-main/api/session-columns';
import { overviewOf, redoCoverage } from '../src-main/api/timeline';
import { startWebHost } from '../src-main/host/web-host';
import { checkPrerequisites, launchChromium } from '../test/e2e/browser';
import { defaultScheduleOf, yearOfSessions } from '../test/e2e/fake-timeline';

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args[at + 1]) : 7;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dirAt = args.indexOf('--renderer');
const rendererDir = dirAt >= 0 ? path.resolve(args[dirAt + 1]!) : path.join(root, 'out/renderer');

const now = Date.now();
const sessions = yearOfSessions(5000, now);
const { coverage, gaps } = redoCoverage(sessions);
const timeline: ServerTimeline = { serverId: 'mail1', sessions, coverage, gaps };
const wire = wireOf(timeline);
const overview = overviewOf(sessions, coverage);
const servers: ServerSummary[] = Array.from({ length: 50 }, (_, i) => ({
  id: `mail${i + 1}`,
  name: `Mail ${i + 1}`,
  hostname: `mail${i + 1}.example.com`,
  access: 'ssh',
  address: `root@mail${i + 1}.example.com:22`,
  status: i % 17 === 5 ? 'error' : 'online',
  saved: true,
  target: `/srv/backup/mail${i + 1}`,
  backups: overview,
}));

function dispatchWith(list: ServerSummary[]) {
  return createDispatch({
    'app.info': () => ({ name: 'Mailvault', version: 'bench', shell: 'web', secrets: 'none' }),
    'servers.list': () => list,
    'jobs.list': () => [],
    'sessions.list': () => wire,
    'schedules.get': ({ serverId }) => defaultScheduleOf(serverId, now),
  });
}

async function firstPaint(browser: Browser, url: string, mark: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0, mark, {
      timeout: 30_000,
    });
    if (process.env.PROBE)
      console.log(
        await page.evaluate(() =>
          JSON.stringify(
            performance
              .getEntries()
              .map(
                (e) =>
                  `${e.name.replace(/^.*\//, '')} ${e.entryType} ${e.startTime.toFixed(0)}+${e.duration.toFixed(0)}`,
              ),
          ),
        ),
      );
    return await page.evaluate((name) => performance.getEntriesByName(name)[0]!.startTime, mark);
  } finally {
    await context.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (dirAt < 0) checkPrerequisites();
  const events = createEventHub();
  const full = await startWebHost({ rendererDir, dispatch: dispatchWith(servers), events });
  const empty = await startWebHost({ rendererDir, dispatch: dispatchWith([]), events });
  const browser = await launchChromium();
  try {
    const runs = { baseline: [] as number[], servers: [] as number[], timeline: [] as number[] };
    await firstPaint(browser, empty.url, 'mailvault:servers-empty-painted'); // warm the disk cache
    for (let i = 0; i < rounds; i++) {
      runs.baseline.push(await firstPaint(browser, empty.url, 'mailvault:servers-empty-painted'));
      runs.servers.push(await firstPaint(browser, full.url, 'mailvault:servers-painted'));
      runs.timeline.push(
        await firstPaint(browser, `${full.url}&view=timeline/mail1`, 'mailvault:timeline-painted'),
      );
    }
    const base = median(runs.baseline);
    const line = (name: string, values: number[]) => {
      const m = median(values);
      console.log(
        `${name.padEnd(34)} median ${m.toFixed(0).padStart(5)} ms  (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})  ${(m / base).toFixed(2)}x baseline  ${m < 1000 ? 'target met (< 1 s)' : 'TARGET NOT MET (>= 1 s)'}`,
      );
    };
    console.log(`console first paint in Chromium, ${rounds} rounds, fresh context each`);
    console.log(
      `load average (1, 5, 15 min): ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
    const kB = (value: unknown) => `${(JSON.stringify(value).length / 1000).toFixed(0)} kB`;
    console.log(`sessions.list answer: ${kB(wire)} (the full objects would be ${kB(timeline)})`);
    console.log(`baseline: empty console (app shell + servers.list)  median ${base.toFixed(0)} ms`);
    line('servers screen, 50 servers', runs.servers);
    line(`timeline, ${sessions.length} sessions`, runs.timeline);
  } finally {
    await browser.close();
    await full.close();
    await empty.close();
  }
}

await main();
