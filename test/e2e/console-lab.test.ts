import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Console } from '../../src-main/api/create-console';
import { createEventHub } from '../../src-main/api/events';
import { completeSessions } from '../../src-main/engine/target/session-list';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { digestAccount, ldapClient, pool, withLab } from '../helpers/lab-fixture';
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

// The console as an administrator uses it, in Chromium over the web host, against a real lab
// server (MariaDB, OpenLDAP, OpenSSH): add the server over SSH (confirming its host key), run a
// full backup and watch it to the end, find it on the timeline, run an incremental, plan a
// restore and run it into a new account (compared by state digest with the original), and prune
// by age after looking at the preview. The backups run in real worker processes; the target is then
// read back with the engine's own session listing.
const ADMIN_VIEW = { width: 1280, height: 860 };

describe.skipIf(!haveChromium && !mustRun)('the console against a lab server', () => {
  let lab: Lab;
  let server: LabServerInfo;
  let sim: MailboxSimulator;
  let dir: string;
  let target: string;
  let mailvault: Console;
  let ui: ServedConsole;
  let page: Page;
  let problems: string[] = [];

  beforeAll(async () => {
    checkPrerequisites();
    lab = await withLab({ servers: 1 });
    server = lab.info.servers[0]!;
    sim = await MailboxSimulator.open(server, { seed: 'console-e2e' });
    await sim.provision(['anna', 'bruno', 'chloe', 'dmitri']);
    await sim.populate(6);
    await sim.sync();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-console-e2e-'));
    target = path.join(dir, 'backup');
    const events = createEventHub();
    mailvault = consoleForLab(dir, events);
    ui = await serveConsole({ dispatch: mailvault.dispatch, events });
    ({ page, problems } = await openWatchedPage(ui.browser, ui.host.url, ADMIN_VIEW));
  }, 240_000);

  afterAll(async () => {
    await ui?.close();
    await mailvault?.stop();
    await sim?.close().catch(() => undefined);
    await lab?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const job = () => page.getByTestId('job-card');

  it('adds the server over SSH after the administrator confirms its host key', async () => {
    await page.getByTestId('servers-empty').waitFor();
    await page.getByTestId('add-server').click();
    await page.getByTestId('form-name').fill('Mail lab');
    await page.getByTestId('form-host').fill(server.ssh.host);
    await page.getByTestId('form-port').fill(String(server.ssh.port));
    await page.getByTestId('form-user').fill(server.ssh.user);
    await page.getByTestId('form-auth-key').check();
    await page.getByTestId('form-key').fill(server.ssh.privateKeyPath);
    await page.getByTestId('form-zimbra-home').fill(server.zimbraHome);
    await page.getByTestId('form-target').fill(target);

    await page.getByTestId('test-connection').click();
    await page.getByTestId('offered-fingerprint').waitFor();
    expect(await page.getByTestId('offered-fingerprint').innerText()).toBe(server.ssh.hostKeyFingerprint);
    expect(await page.getByTestId('step-ssh').getAttribute('data-outcome')).toBe('confirm');
    expect(await page.getByTestId('step-localconfig').getAttribute('data-outcome')).toBe('skipped');
    await screenshot(page, '01-add-server-confirm-host-key');

    await page.getByTestId('trust-host-key').click();
    await page.locator('[data-testid=test-result][data-ok=true]').waitFor({ timeout: 30_000 });
    for (const step of ['ssh', 'localconfig', 'mariadb', 'ldap', 'volumes', 'accounts'])
      expect(await page.getByTestId(`step-${step}`).getAttribute('data-outcome'), step).toBe('ok');
    expect(await page.getByTestId('step-accounts').innerText()).toContain(
      `4 account(s) with their mailbox on ${server.hostname}`,
    );
    expect(await page.getByTestId('form-host-key').innerText()).toContain(
      `${server.ssh.hostKeyFingerprint} (pinned)`,
    );
    await screenshot(page, '02-add-server-tested');

    await page.getByTestId('save-server').click();
    const row = page.locator('[data-testid=server-row][data-server-id=mail-lab]');
    await row.waitFor();
    expect(await row.getByTestId('server-status').getAttribute('data-status')).toBe('online');
    expect(await row.getByTestId('server-hostname').innerText()).toBe(server.hostname);
    // Pinned on disk, and no secret there.
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config', 'servers.json'), 'utf8'));
    expect(saved.servers[0].ssh.hostKey).toBe(server.ssh.hostKeyFingerprint);
    await screenshot(page, '03-servers');
  });

  let fullLabel = '';
  let fullStartMs = 0;

  it('runs a full backup and shows its progress to the end', async () => {
    await page.locator('[data-server-id=mail-lab]').getByTestId('open-backup').click();
    await page.getByTestId('kind-full').check();
    await page.getByTestId('start-backup').click();
    await page.locator('[data-testid=job-card][data-state=running]').waitFor();
    await page.getByTestId('job-label').waitFor({ timeout: 30_000 });
    // Live progress: the account count appears while it runs (or the job is already done).
    await page
      .locator(
        '[data-testid=progress-accounts]:has-text("/ 4"), [data-testid=job-card][data-state=succeeded]',
      )
      .first()
      .waitFor({ timeout: 60_000 });
    if ((await job().getAttribute('data-state')) === 'running') await screenshot(page, '04-backup-running');
    await page.locator('[data-testid=job-card][data-state=succeeded]').waitFor({ timeout: 120_000 });
    fullLabel = await page.getByTestId('job-label').innerText();
    expect(fullLabel).toMatch(/^full-\d{8}\.\d{6}\.\d{3}$/);
    expect(await page.getByTestId('result-session').getAttribute('data-status')).toBe('completed');
    expect(await page.getByTestId('result-session').innerText()).toContain('4 account(s)');
    await screenshot(page, '05-backup-done');

    const sessions = await completeSessions(target);
    expect(sessions.map((s) => [s.label, s.manifest.status, s.manifest.accounts.length])).toEqual([
      [fullLabel, 'completed', 4],
    ]);
    fullStartMs = sessions[0]!.startMs;
  });

  it('shows the full backup on the timeline, with its details on click', async () => {
    await page.getByTestId('tab-timeline').click();
    const row = page.locator(`[data-testid=timeline-session][data-label="${fullLabel}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-type')).toBe('full');
    expect(await row.getAttribute('data-status')).toBe('completed');
    expect(Number(await page.getByTestId('timeline-canvas').getAttribute('data-sessions-drawn'))).toBe(1);
    // Click the session on the canvas itself: the full lane, near the right end (the whole timeline fits).
    await row.getByRole('button').click();
    await page.getByTestId('session-detail').waitFor();
    expect(await page.getByTestId('detail-accounts').innerText()).toBe('4');
    await screenshot(page, '06-timeline-full');
  });

  let incrementalLabel = '';

  it('runs an incremental that brings the new redo logs', async () => {
    await sim.run({ operations: 30 });
    await sim.redo.rollover();
    await sim.sync();
    await page.getByTestId('tab-backup').click();
    await page.getByTestId('kind-incremental').check();
    await page.getByTestId('start-backup').click();
    await page
      .locator('[data-testid=job-card][data-state=succeeded]')
      .locator('[data-testid=job-label]:has-text("incr-")')
      .waitFor({ timeout: 120_000 });
    incrementalLabel = await page.getByTestId('job-label').innerText();
    expect(await page.getByTestId('result-session').first().getAttribute('data-status')).toBe('completed');
    await screenshot(page, '07-incremental-done');

    await page.getByTestId('tab-timeline').click();
    await page
      .locator(`[data-testid=timeline-session][data-label="${incrementalLabel}"][data-type=incremental]`)
      .waitFor();
    expect(await page.getByTestId('timeline-session').count()).toBe(2);
    const sessions = await completeSessions(target);
    expect(sessions.find((s) => s.label === incrementalLabel)!.manifest.redoLogs!.length).toBeGreaterThan(0);
    await screenshot(page, '08-timeline-full-and-incremental');

    // The servers screen at a glance: both backups, and any-second restore up to the incremental.
    await page.getByTestId('tab-servers').click();
    const row = page.locator('[data-testid=server-row][data-server-id=mail-lab]');
    await row.getByTestId('server-last-incremental').locator(`[title^="${incrementalLabel}"]`).waitFor();
    expect(await row.getByTestId('server-last-full').locator('span').first().getAttribute('title')).toBe(
      `${fullLabel} — completed`,
    );
    expect(await row.getByTestId('server-coverage').innerText()).toMatch(/^up to (just now|\d+ min ago)$/);
    expect(await row.getByTestId('server-problems').innerText()).toBe('none');
    await screenshot(page, '08b-servers-after-backups');
  });

  it("plans an account's restore from the target: restore points, then the plan and its command", async () => {
    await page.getByTestId('tab-restore').click();
    const account = page.getByTestId('restore-account');
    await account.locator('option').first().waitFor({ state: 'attached' });
    const options = await account.locator('option').allInnerTexts();
    expect(options).toHaveLength(4);
    const email = options[0]!;
    expect(email).toMatch(/^anna@/);
    await page.getByTestId('restore-find').click();
    await page.getByTestId('best-point').waitFor();
    expect(await page.getByTestId('best-point').innerText()).toContain(fullLabel);
    expect(await page.getByTestId('restore-sessions').innerText()).toContain(fullLabel);
    await page.getByTestId('best-point-plan').click();
    await page.getByTestId('restore-plan').waitFor();
    expect(await page.getByTestId('plan-full').innerText()).toBe(fullLabel);
    const command = await page.getByTestId('plan-command').innerText();
    expect(command).toContain(`mailvault zmrestore -a ${email} --restoreToTime `);
    expect(command).toContain(`--host-key ${server.ssh.hostKeyFingerprint}`);
    expect(command).toContain(`-t ${target}`);
    await screenshot(page, '08c-restore-planner');

    // Run it: into restored_<address>, as a job; the copy must hold what the original holds.
    const db = pool(server);
    const ldap = await ldapClient(server);
    try {
      const same = { normalizeIds: true, ignoreColumns: ['mailbox.comment', 'mailbox.group_id'] };
      const original = await digestAccount(server, db, ldap, email, same);
      await page.getByTestId('restore-run').click();
      const card = page.locator('[data-testid=restore-plan] [data-testid=job-card]');
      await card.locator('[data-testid=job-result]').waitFor({ timeout: 120_000 });
      expect(await card.getAttribute('data-state'), await card.innerText()).toBe('succeeded');
      expect(await card.getByTestId('result-restored').innerText()).toContain(`restored_${email}`);
      await screenshot(page, '08d-restore-done');
      const copy = await digestAccount(server, db, ldap, `restored_${email}`, same);
      expect(copy.mailboxId).not.toBe(original.mailboxId);
      // The copy's mailbox lives in another mboxgroup database: compare the tables by name.
      const byTable = (rows: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(rows).map(([table, r]) => [table.replace(/^mboxgroup\d+\./, 'mboxgroup.'), r]),
        );
      expect(byTable(copy.rows)).toEqual(byTable(original.rows));
      expect(copy.blobs).toEqual(original.blobs);
      // The original is untouched by it.
      expect((await digestAccount(server, db, ldap, email, same)).digest).toBe(original.digest);
    } finally {
      await ldap.unbind().catch(() => undefined);
      await db.end();
    }
  });

  it('prunes by age: the preview shows what goes, on the timeline too, then it goes', async () => {
    // Sessions older than 1 minute: the full, not the incremental (taken seconds after it).
    const wait = fullStartMs + 61_000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await page.getByTestId('tab-prune').click();
    await page.getByTestId('rule-age').check();
    await page.getByTestId('age-amount').fill('1');
    await page.getByTestId('age-unit').selectOption('minutes');
    await page.getByTestId('prune-preview').click();
    await page.getByTestId('prune-plan').waitFor();
    expect(await page.getByTestId('prune-plan').getAttribute('data-sessions')).toBe('1');
    expect(await page.getByTestId('prune-plan-sessions').innerText()).toContain(fullLabel);
    // Only the incremental would remain: the console says it cannot be restored from on its own.
    expect(await page.getByTestId('prune-warning').innerText()).toContain(
      `1 incremental(s) of ${server.hostname} would remain with no full backup before them (first: ${incrementalLabel})`,
    );
    expect(
      await page
        .locator(`[data-testid=timeline-session][data-label="${fullLabel}"]`)
        .getAttribute('data-doomed'),
    ).toBe('true');
    expect(
      await page
        .locator(`[data-testid=timeline-session][data-label="${incrementalLabel}"]`)
        .getAttribute('data-doomed'),
    ).toBe('false');
    await screenshot(page, '09-prune-preview');

    await page.getByTestId('prune-confirm').click();
    await page.getByTestId('prune-done').waitFor();
    expect(await page.getByTestId('prune-done').innerText()).toContain('Deleted 1 session(s)');
    await page
      .locator(`[data-testid=timeline-session][data-label="${fullLabel}"]`)
      .waitFor({ state: 'detached' });
    expect((await completeSessions(target)).map((s) => s.label)).toEqual([incrementalLabel]);
    await screenshot(page, '10-prune-done');
    expect(problems).toEqual([]);
  });
});
