import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Console } from '../../src-main/api/create-console';
import { createEventHub, type EventHub } from '../../src-main/api/events';
import { startSandboxServers } from '../../src-main/api/sandbox-servers';
import { listAttempts } from '../../src-main/engine/schedule/attempts';
import { cronCommand } from '../../src-main/engine/schedule/cron-line';
import { acquireLock } from '../../src-main/engine/target/lock';
import type { Lab } from '../../src-main/lab/lab';
import { withLab } from '../helpers/lab-fixture';
import { standInCrontab } from '../helpers/stand-in-crontab';
import {
  checkPrerequisites,
  consoleForLab,
  haveChromium,
  mustRun,
  openWatchedPage,
  screenshot,
  serveConsole,
  type ServedConsole,
} from './browser';

// The Schedule screen in Chromium over the web host, on the sandbox's lab server (reached over
// SSH, host key pinned): Zimbra's default is edited in the form (the full moved to Sunday 02:30,
// an extra incremental by cron text) and installed as a pull in this machine's crontab, whose
// next runs then show; a bad cron is refused naming it with the crontab unchanged; one of the
// installed lines is run as cron would while the target is locked, and its failed attempt shows
// with its error; the log view lists what happened; a job's end shows as a toast.
// HERMETIC: the console's crontab command is a stand-in keeping the crontab in a temp file.
const VIEW = { width: 1280, height: 900 };

describe.skipIf(!haveChromium && !mustRun)('the Schedule screen against a lab server', () => {
  let lab: Lab;
  let dir: string;
  let events: EventHub;
  let mailvault: Console;
  let ui: ServedConsole;
  let page: Page;
  let crontab: ReturnType<typeof standInCrontab>;
  let problems: string[] = [];
  const target = () => path.join(lab.info.dir, 'backup');

  beforeAll(async () => {
    checkPrerequisites();
    lab = await withLab({ servers: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-schedule-e2e-'));
    crontab = standInCrontab(dir);
    events = createEventHub();
    const sandbox = startSandboxServers(
      async () => ({ info: lab.info, stop: async () => undefined }),
      events,
    );
    await sandbox.ready;
    mailvault = consoleForLab(dir, events, { sandbox, schedules: { crontab: crontab.command } });
    ui = await serveConsole({ dispatch: mailvault.dispatch, events });
    ({ page, problems } = await openWatchedPage(ui.browser, ui.host.url, VIEW));
  }, 240_000);

  afterAll(async () => {
    await ui?.close();
    await mailvault?.stop();
    await lab?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('edits Zimbra’s default in the form and installs it; the next runs show', async () => {
    await page.getByTestId('tab-schedule').click();
    await page.getByTestId('schedule-empty').waitFor();
    expect(await page.getByTestId('schedule-place').innerText()).toContain("this machine's crontab");
    await page.getByTestId('schedule-default').click();
    const rows = page.getByTestId('schedule-entry');
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringContaining('Full — Saturdays 01:00'),
      expect.stringContaining('Incremental — Sunday to Friday 01:00'),
      expect.stringContaining('Delete old — older than 1 month, every day 00:00'),
    ]);
    // The full: Sunday 02:30 instead of Saturday 01:00; the incrementals then Monday to Saturday.
    await rows.nth(0).getByTestId('entry-edit').click();
    await page.getByTestId('entry-day-6').uncheck();
    await page.getByTestId('entry-day-0').check();
    await page.getByTestId('entry-time').fill('02:30');
    await page.getByTestId('entry-apply').click();
    await rows.nth(1).getByTestId('entry-edit').click();
    await page.getByTestId('entry-mode-cron').check();
    await page.getByTestId('entry-cron').fill('0 1 * * 1-6');
    await page.getByTestId('entry-apply').click();
    // An extra midday incremental on weekdays, added with the pickers.
    await page.getByTestId('entry-add').click();
    for (const d of [1, 2, 3, 4, 5]) expect(await page.getByTestId(`entry-day-${d}`).isChecked()).toBe(true);
    await page.getByTestId('entry-time').fill('13:00');
    await page.getByTestId('entry-apply').click();
    await screenshot(page, 'schedule-01-draft');

    await page.getByTestId('schedule-save').click();
    await page.getByTestId('next-runs').waitFor();
    await page.locator('[data-testid=schedule-save]:has-text("Install schedule")').waitFor();
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringContaining('Full — Sundays 02:30'),
      expect.stringContaining('Incremental — Monday to Saturday 01:00'),
      expect.stringContaining('Delete old — older than 1 month, every day 00:00'),
      expect.stringContaining('Incremental — Weekdays 13:00'),
    ]);
    expect(await rows.nth(0).innerText()).toContain('f 30 2 * * 0');

    // In the crontab: a pull from the lab over SSH with its key and pinned host key, into the target.
    const server = lab.info.servers[0]!;
    const text = crontab.read();
    expect(text).toContain(
      `# BEGIN mailvault zmschedulebackup for ssh://root@${server.ssh.host}:${server.ssh.port}`,
    );
    const lines = text.split('\n').filter((l) => l.includes("'zmbackup'"));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^30 2 \* \* 0 /);
    for (const line of lines) {
      expect(line).toContain(`'--host-key' '${server.ssh.hostKeyFingerprint}'`);
      expect(line).toContain(`'--identity' '${server.ssh.privateKeyPath}'`);
      expect(line).toContain(`'-t' '${target()}'`);
    }

    // Next 7 days: exactly one full, on a Sunday at 02:30; incrementals and daily deletes.
    const next = page.getByTestId('next-run');
    const fulls = await page.locator('[data-testid=next-run][data-kind=full]').allInnerTexts();
    expect(fulls).toHaveLength(1);
    expect(fulls[0]).toMatch(/02:30/);
    expect(await page.locator('[data-testid=next-run][data-kind=delete]').count()).toBe(7);
    expect(await next.count()).toBeGreaterThanOrEqual(7 + 1 + 6 + 5 - 2);
    await screenshot(page, 'schedule-02-installed');
  }, 60_000);

  it('a bad cron is refused naming it, and the crontab is unchanged', async () => {
    const before = crontab.read();
    const rows = page.getByTestId('schedule-entry');
    await rows.nth(3).getByTestId('entry-edit').click();
    await page.getByTestId('entry-mode-cron').check();
    await page.getByTestId('entry-cron').fill('0 25 * * 1-5');
    await page.getByTestId('entry-apply').click();
    await page.getByTestId('schedule-save').click();
    await page.getByTestId('schedule-error').waitFor();
    expect(await page.getByTestId('schedule-error').innerText()).toContain('"0 25 * * 1-5"');
    await screenshot(page, 'schedule-03-bad-cron');
    expect(crontab.read()).toBe(before);
    await page.getByTestId('schedule-discard').click();
    expect(await rows.nth(3).innerText()).toContain('Weekdays 13:00');
  });

  it('an installed line run as cron runs it, on a locked target, shows as a failed attempt with its error', async () => {
    const line = crontab
      .read()
      .split('\n')
      .find((l) => /^30 2 \* \* 0 /.test(l))!;
    const lock = await acquireLock(target(), { operation: 'a restore the test holds' });
    try {
      const home = fs.mkdtempSync(path.join(dir, 'home-'));
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn('/bin/sh', ['-c', cronCommand(line).command], {
          cwd: home,
          env: { HOME: home, LOGNAME: 'root', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' },
          stdio: 'ignore',
        });
        child.on('exit', resolve);
      });
      expect(code).toBe(1);
    } finally {
      await lock.release();
    }
    expect((await listAttempts(target())).at(-1)).toMatchObject({ kind: 'full', status: 'failed' });
    // Shown when the screen is opened again.
    await page.getByTestId('tab-servers').click();
    await page.getByTestId('tab-schedule').click();
    const attempt = page.locator('[data-testid=attempt][data-status=failed]');
    await attempt.waitFor();
    expect(await attempt.getByTestId('attempt-error').innerText()).toMatch(
      /in use: a restore the test holds/,
    );
    await screenshot(page, 'schedule-04-failed-attempt');
  }, 120_000);

  it('the log view lists the install and the refused save; a job end shows as a toast', async () => {
    events.emit('job.notice', {
      jobId: 'job-x',
      serverId: 'lab',
      state: 'failed',
      title: 'Incremental backup of Sandbox failed',
      body: 'The backup target is in use: a restore the test holds',
      urgent: true,
    });
    await page.getByTestId('toast').waitFor();
    expect(await page.getByTestId('toast').getAttribute('data-state')).toBe('failed');
    await page.getByTestId('tab-log').click();
    await page.getByTestId('log-lines').waitFor();
    const messages = await page.getByTestId('log-line').allInnerTexts();
    expect(messages.some((m) => m.includes('Schedule installed'))).toBe(true);
    expect(messages.some((m) => m.includes('schedules.save failed') && m.includes('0 25 * * 1-5'))).toBe(
      true,
    );
    await page.getByTestId('log-level').selectOption('warn');
    const warned = await page.getByTestId('log-line').allInnerTexts();
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.every((m) => !m.includes('Schedule installed'))).toBe(true);
    await screenshot(page, 'schedule-05-log');
    // The one 400 is the refused save above, which the browser logs as a failed resource.
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    expect(problems).toHaveLength(1);
  });
});
