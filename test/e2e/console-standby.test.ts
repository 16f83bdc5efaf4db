import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import type { Console } from '../../src-main/api/create-console';
import { createEventHub } from '../../src-main/api/events';
import type { StandbyVolume } from '../../src-main/engine/standby/record';
import { takeSnapshot } from '../../src-main/engine/standby/snapshot';
import { diffWithoutIndex } from '../helpers/restore-lab';
import { startStandbyLab, withEveryMailboxLocked, type StandbyLab } from '../helpers/standby-lab';
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

// The standby screen and failover wizard in Chromium over the web host, against a real lab pair
// (docs/standby.md): server 2 the primary with the simulator playing mailboxd, server 1 its
// standby. Snapshots are taken seconds apart with mail between them; the administrator names the
// standby, looks at the sets and their lag, runs the failover through the wizard (data-loss
// window shown, standby's name typed) in a real worker process, and the standby then holds every
// mailbox as the primary held it at the last redo-log snapshot (state digests, index aside: replay
// does not write it).
const ADMIN_VIEW = { width: 1280, height: 860 };

describe.skipIf(!haveChromium && !mustRun)('the standby screen against a lab primary and standby', () => {
  let s: StandbyLab;
  let dir: string;
  let mailvault: Console;
  let ui: ServedConsole;
  let page: Page;
  let problems: string[] = [];
  const taken = new Map<StandbyVolume, number>();
  let atLastRedo = new Map<string, MailboxDigest>();
  let lastRedo = 0;
  /** Progress of the failover job as the main side pushed it to the window. */
  const progress: Array<{ message: string | null; ops?: { done: number; total: number | null } }> = [];

  const snap = async (volume: StandbyVolume) => {
    const e = await takeSnapshot(s.primary, s.dir, volume);
    expect(e.complete, e.error).toBe(true);
    taken.set(volume, e.takenAt);
    return e;
  };

  beforeAll(async () => {
    checkPrerequisites();
    s = await startStandbyLab('console-standby', ['anna', 'bruno', 'chloe'], 6);
    // A set with mail between its snapshots, then more mail up to the last redo-log snapshot (what
    // replay brings), then mail after it (what the failover loses).
    await snap('mysql');
    await s.sim.run({ operations: 25 });
    await snap('blobs');
    await withEveryMailboxLocked(s.sim, () => snap('index'));
    await s.sim.run({ operations: 25 });
    await withEveryMailboxLocked(s.sim, async () => {
      lastRedo = (await snap('redolog')).takenAt;
      atLastRedo = new Map();
      for (const email of s.emails) atLastRedo.set(email, await s.digestPrimary(email));
    });
    await s.sim.run({ operations: 15 });
    await s.sim.sync();

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-console-standby-'));
    const events = createEventHub();
    events.subscribe((m) => {
      if (m.name === 'job.event' && m.payload.kind === 'progress') progress.push(m.payload.progress);
    });
    mailvault = consoleForLab(dir, events);
    // Adding servers through the form is the console-lab test's; here they are saved directly.
    for (const [name, info] of [
      ['Mail primary', s.primaryInfo],
      ['Mail standby', s.standbyInfo],
    ] as const) {
      const saved = await mailvault.dispatch('servers.save', {
        profile: { name, access: 'local', zimbraHome: info.zimbraHome, target: path.join(dir, name) },
      });
      expect(saved.ok, JSON.stringify(saved)).toBe(true);
    }
    ui = await serveConsole({ dispatch: mailvault.dispatch, events });
    ({ page, problems } = await openWatchedPage(ui.browser, ui.host.url, ADMIN_VIEW, { httpErrors: true }));
  }, 300_000);

  afterAll(async () => {
    await ui?.close();
    await mailvault?.stop();
    await s?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names the standby, then shows its sets with each volume seconds apart and their lag', async () => {
    await page.locator('[data-testid=server-row][data-server-id=mail-primary]').waitFor();
    await page.keyboard.press('Alt+6');
    await page.getByTestId('server-picker').selectOption('mail-primary');
    await page.getByTestId('standby-link-form').waitFor();
    await page.getByTestId('standby-link-server').selectOption('mail-standby');
    await screenshot(page, 'standby-01-name-standby');
    await page.getByTestId('standby-link-save').click();

    const row = page.locator('[data-testid=standby-set][data-newest=true]');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-from')).toBe(String(taken.get('mysql')));
    expect(await row.getAttribute('data-complete')).toBe('true');
    expect(await page.getByTestId('standby-set').count()).toBe(1);
    // Each volume's own time: the seed's order, seconds apart.
    for (const v of ['blobs', 'index', 'redolog'] as const)
      expect(await row.locator(`td[data-volume=${v}]`).innerText()).toMatch(
        /^\d\d:\d\d:\d\d \+(\d+(\.\d)? (ms|s)|\d+ min \d\d s)$/,
      );
    for (const v of ['mysql', 'blobs', 'index', 'redolog']) {
      const card = page.locator(`[data-testid=standby-volume][data-volume=${v}]`);
      expect(await card.getAttribute('data-level'), v).toBe('ok');
      expect(await card.getByTestId('standby-lag').innerText()).toMatch(/^lag /);
    }
    expect(await page.getByTestId('failover-from').innerText()).toContain('A failover now loads the set of');
    await screenshot(page, 'standby-02-sets');

    // The servers screen: the standby's lag at a glance.
    await page.getByTestId('tab-servers').click();
    const glance = page
      .locator('[data-testid=server-row][data-server-id=mail-primary]')
      .getByTestId('server-standby-lag');
    await glance.waitFor();
    expect(await glance.innerText()).toMatch(/^standby lag \d/);
    expect(Number(await glance.getAttribute('data-lag-ms'))).toBeGreaterThanOrEqual(
      Date.now() - lastRedo - 60_000,
    );
    await screenshot(page, 'standby-03-servers-glance');
  });

  it('fails over through the wizard: the data-loss window first, the name typed, progress, the report', async () => {
    await glanceToStandby(page);
    // Keyboard: the wizard takes focus, Esc leaves it before anything runs, Enter opens it again.
    await page.getByTestId('failover-open').click();
    await page.locator('[data-testid=failover-wizard][data-step="1"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('wizard-title');
    await page.keyboard.press('Escape');
    await page.getByTestId('failover-wizard').waitFor({ state: 'detached' });
    await page.getByTestId('failover-open').focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=failover-wizard][data-step="1"]').waitFor();
    expect(await page.getByTestId('wizard-set').first().isChecked()).toBe(true);
    await screenshot(page, 'standby-04-wizard-choose');
    await page.getByTestId('wizard-next').click();

    await page.locator('[data-testid=failover-wizard][data-step="2"]').waitFor();
    const loss = page.getByTestId('data-loss');
    expect(Number(await loss.getAttribute('data-ms'))).toBeGreaterThan(0);
    expect(await loss.innerText()).toMatch(/mail committed in this window is lost/i);
    expect(await page.getByTestId('preview-ops').innerText()).toMatch(/^\d+ in [1-3] mailbox\(es\)$/);
    const failover = page.getByTestId('wizard-failover');
    expect(await failover.isDisabled()).toBe(true);
    await page.getByTestId('wizard-confirm-name').fill('Mail primary');
    expect(await failover.isDisabled()).toBe(true);
    await page.getByTestId('wizard-confirm-name').fill('Mail standby');
    expect(await failover.isDisabled()).toBe(false);
    await screenshot(page, 'standby-05-wizard-confirm');
    const clickedAt = Date.now();
    await failover.click();

    await page
      .locator('[data-testid=progress-step]:not(:has-text("starting")), [data-testid=failover-report]')
      .first()
      .waitFor({ timeout: 60_000 });
    if (await page.getByTestId('failover-progress').isVisible())
      await screenshot(page, 'standby-06-wizard-replay');
    const report = page.getByTestId('failover-report');
    await report.waitFor({ timeout: 240_000 });
    expect(await report.getAttribute('data-state'), await report.innerText()).toBe('succeeded');
    expect(await page.getByTestId('report-errors').innerText()).toBe('0');
    const applied = Number(await page.getByTestId('report-applied').innerText());
    expect(applied).toBeGreaterThan(0);
    const perMailbox = await page.getByTestId('report-replayed').allInnerTexts();
    expect(perMailbox.reduce((n, t) => n + Number(t), 0)).toBe(applied);
    await screenshot(page, 'standby-07-wizard-report');
    // Progress came while it ran: the set loading, then replay counted against the ops to replay.
    expect(progress.some((p) => p.message?.startsWith('Loading the set'))).toBe(true);
    const replay = progress.filter((p) => p.ops);
    expect(replay.length).toBeGreaterThan(0);
    expect(replay.at(-1)!.ops).toEqual({ done: applied, total: applied });
    expect(replay.every((p) => p.ops!.done <= (p.ops!.total ?? Infinity))).toBe(true);

    // The job's report, as the main side holds it: the window starts at the last redo-log snapshot.
    const jobs = await mailvault.dispatch('jobs.list', {});
    const job = (
      jobs as {
        ok: true;
        value: Array<{ operation: string; failover?: { dataLoss: { from: number; to: number } } }>;
      }
    ).value.find((j) => j.operation === 'standby.failover')!;
    expect(job.failover!.dataLoss.from).toBe(lastRedo);
    expect(job.failover!.dataLoss.to).toBeGreaterThanOrEqual(clickedAt - 60_000);

    // On the standby: every mailbox as the primary held it at the last redo-log snapshot.
    for (const email of s.emails)
      expect(diffWithoutIndex(atLastRedo.get(email)!, await s.digestStandby(email)), email).toEqual([]);
    // And not as it holds it now: the mail after that snapshot is the window the wizard showed.
    const now = await Promise.all(s.emails.map((e) => s.digestPrimary(e)));
    expect(now.some((d, i) => diffWithoutIndex(d, atLastRedo.get(s.emails[i]!)!).length > 0)).toBe(true);
  });

  it('reads well in the dark theme too', async () => {
    await page.getByTestId('wizard-close').click();
    await page.getByTestId('theme-toggle').click(); // system → dark
    await page.locator('[data-testid=standby-set][data-newest=true]').waitFor();
    await screenshot(page, 'standby-08-sets-dark');
    expect(problems).toEqual([]);
  });

  it('fails over again with the standby reached over SSH, from a newer set', async () => {
    const ssh = s.standbyInfo.ssh;
    const saved = await mailvault.dispatch('servers.save', {
      profile: {
        id: 'mail-standby',
        name: 'Mail standby',
        access: 'ssh',
        ssh: {
          host: ssh.host,
          port: ssh.port,
          user: ssh.user,
          auth: 'key',
          keyPath: ssh.privateKeyPath,
          hostKey: ssh.hostKeyFingerprint,
        },
        zimbraHome: s.standbyInfo.zimbraHome,
        target: path.join(dir, 'Mail standby'),
      },
    });
    expect(saved.ok, JSON.stringify(saved)).toBe(true);
    await snap('mysql');
    await s.sim.run({ operations: 20 });
    await snap('blobs');
    await withEveryMailboxLocked(s.sim, () => snap('index'));
    await s.sim.run({ operations: 20 });
    await withEveryMailboxLocked(s.sim, async () => {
      lastRedo = (await snap('redolog')).takenAt;
      atLastRedo = new Map();
      for (const email of s.emails) atLastRedo.set(email, await s.digestPrimary(email));
    });
    await s.sim.run({ operations: 10 });
    await s.sim.sync();

    await page.getByTestId('standby-refresh').click();
    await page
      .locator(`[data-testid=standby-set][data-newest=true][data-from="${taken.get('mysql')}"]`)
      .waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('standby-set').count()).toBe(2);
    await page.getByTestId('failover-open').click();
    await page.getByTestId('wizard-next').click();
    await page.locator('[data-testid=failover-wizard][data-step="2"]').waitFor();
    // Over SSH the ops are not counted ahead (that would copy every redo log first).
    expect(await page.getByTestId('preview-ops').innerText()).toBe('counted during the failover');
    await page.getByTestId('wizard-confirm-name').fill('Mail standby');
    await screenshot(page, 'standby-09-ssh-confirm-dark');
    await page.getByTestId('wizard-failover').click();
    const report = page.getByTestId('failover-report');
    await report.waitFor({ timeout: 300_000 });
    expect(await report.getAttribute('data-state'), await report.innerText()).toBe('succeeded');
    expect(Number(await page.getByTestId('report-applied').innerText())).toBeGreaterThan(0);
    await screenshot(page, 'standby-10-ssh-report-dark');
    for (const email of s.emails)
      expect(diffWithoutIndex(atLastRedo.get(email)!, await s.digestStandby(email)), email).toEqual([]);
    expect(problems).toEqual([]);
  });
});

async function glanceToStandby(page: Page): Promise<void> {
  await page
    .locator('[data-testid=server-row][data-server-id=mail-primary]')
    .getByTestId('server-standby-lag')
    .click();
  await page.locator('[data-testid=standby-set][data-newest=true]').waitFor();
}
