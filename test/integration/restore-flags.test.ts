import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { indexDir, mailboxDir, mailboxGroupDb, type Volume } from '../../src-main/engine/server/volumes';
import { accountPaths, sessionDir } from '../../src-main/engine/target/layout';
import { diffWithoutIndex, startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * zmrestore's account flags and zmplayredo's guards, through the command line on a lab, each
 * checked by its effect on the rows, blobs and index (digests), not only by the exit status:
 * -c goes on past a bad account; --skipDeletedAccounts passes over an account deleted from the
 * directory since the backup; --excludeBlobs / --excludeSearchIndex leave those files as they
 * were; zmplayredo refuses while mailboxd runs or another zmplayredo holds its pid file.
 */
const ROOT = path.resolve(__dirname, '../..');
let r: RestoreLab;
let volumes: Volume[];

type Run = { code: number | null; stdout: string; stderr: string };
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const home = () => ['-s', 'local', '--zimbra-home', r.server.zimbraHome];
const where = () => [...home(), '-t', r.target];
const full = (email: string) => r.atFull.get(email)!;
const messageVolume = () => volumes.find((v) => v.type === 1)!;
const indexVolume = () => volumes.find((v) => v.type === 10)!;

async function itemCount(d: MailboxDigest): Promise<number> {
  const [rows] = (await r.db.query(
    `SELECT COUNT(*) AS n FROM ${mailboxGroupDb(d.mailboxId, r.access.settings.mailboxGroups)}.mail_item WHERE mailbox_id = ?`,
    [d.mailboxId],
  )) as unknown as [Array<{ n: number }>];
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-flags',
    accounts: ['ann', 'ben', 'cat'],
    messages: 8,
    operations: 90,
    instantsEvery: 1_000_000,
  });
  volumes = await r.volumes();
}, 600_000);

afterAll(async () => {
  await r?.stop();
});

describe('zmrestore account flags', () => {
  it('--skipDeletedAccounts passes over an account deleted from the directory since the backup', async () => {
    const [ann, ben, cat] = r.emails as [string, string, string];
    void ann;
    const gone = await r.digest(ben);
    const rowsBefore = await itemCount(gone);
    const before = await r.digest(cat);
    expect(before.digest, 'cat changed after the full').not.toBe(full(cat).digest);
    const dn = (await r.ldap.search('', { scope: 'sub', filter: `(mail=${ben})`, attributes: ['dn'] }))
      .searchEntries[0]!.dn;
    await r.ldap.del(dn);

    // Without the flag: an error for ben, and the run stops there (cat comes after it).
    const strict = await cli(['zmrestore', '-a', ben, cat, '-rf', ...where()]);
    expect(strict.code, strict.stderr).toBe(1);
    expect(strict.stdout).toContain(`${ben}: error: ${ben} is not an account`);
    expect((await r.digest(cat)).digest).toBe(before.digest);

    const run = await cli([
      'zmrestore',
      '-a',
      ben,
      cat,
      '-rf',
      '--skipDeletedAccounts',
      ...where(),
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.status).toBe('ok');
    expect(result.accounts.map((a: { email: string; status: string }) => [a.email, a.status])).toEqual([
      [ben, 'skipped'],
      [cat, 'restored'],
    ]);
    expect(result.accounts[0].error).toMatch(/is not an account/);
    expect(diffDigests(full(cat), await r.digest(cat))).toEqual([]);
    // ben's mailbox is as the deletion left it.
    expect(await itemCount(gone)).toBe(rowsBefore);

    // -ra puts ben back from the full, which the next tests rely on.
    const back = await cli(['zmrestore', '-a', ben, '-rf', '-ra', ...where()]);
    expect(back.code, back.stderr).toBe(0);
    expect(diffDigests(full(ben), await r.digest(ben))).toEqual([]);
  });

  it('-c goes on with the other accounts after one fails, and the exit status says so', async () => {
    const [ann, , cat] = r.emails as [string, string, string];
    const annBefore = await r.digest(ann);
    expect(annBefore.digest, 'ann changed after the full').not.toBe(full(ann).digest);
    // cat's dump in the full ends with a statement the server refuses: its load fails and rolls back.
    const sql = path.join(sessionDir(r.target, r.full.label), accountPaths(full(cat).accountId).mailboxSql);
    const original = fs.readFileSync(sql);
    fs.appendFileSync(sql, 'INSERT INTO `zimbra`.`no_such_table` (`id`) VALUES\n(1);\n');
    try {
      const catBefore = await r.digest(cat);
      const stop = await cli(['zmrestore', '-a', cat, ann, '-rf', ...where()]);
      expect(stop.code, stop.stderr).toBe(1);
      expect(stop.stdout).toMatch(new RegExp(`${cat}: error: `));
      expect(stop.stdout).not.toContain(`${ann}: restored`);
      expect((await r.digest(ann)).digest).toBe(annBefore.digest);

      const go = await cli(['zmrestore', '-a', cat, ann, '-rf', '-c', ...where()]);
      expect(go.code, go.stderr).toBe(1);
      expect(go.stdout).toMatch(new RegExp(`${cat}: error: `));
      expect(go.stdout).toContain(`${ann}: restored from ${r.full.label}`);
      expect(go.stdout).toContain(`status: err; not restored: ${cat}`);
      expect(diffDigests(full(ann), await r.digest(ann))).toEqual([]);
      // The failed account is untouched: its load was one transaction, its files were not reached.
      expect(diffDigests(catBefore, await r.digest(cat))).toEqual([]);
    } finally {
      fs.writeFileSync(sql, original);
    }
  });

  it('--excludeBlobs and --excludeSearchIndex restore the rows and leave those files as they were', async () => {
    const ann = r.emails[0]!;
    const id = full(ann).mailboxId;
    // Files no full holds: a restore that touches blobs or index removes them.
    const strayBlob = path.join(mailboxDir(messageVolume(), id), 'msg', '0', '99999-1.msg');
    const strayIndex = path.join(indexDir(indexVolume(), id), 'stray.cfs');
    for (const f of [strayBlob, strayIndex]) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, `stray ${f}`);
    }
    await r.db.query(
      `DELETE FROM ${mailboxGroupDb(id, r.access.settings.mailboxGroups)}.mail_item WHERE mailbox_id = ? AND type = 5 LIMIT 1`,
      [id],
    );
    const before = await r.digest(ann);
    expect(Object.keys(before.blobs).some((b) => b.endsWith('99999-1.msg'))).toBe(true);
    expect(diffWithoutIndex(full(ann), before)).not.toEqual([]);

    const noBlobs = await cli(['zmrestore', '-a', ann, '-rf', '--excludeBlobs', ...where(), '--json']);
    expect(noBlobs.code, noBlobs.stderr).toBe(0);
    let after = await r.digest(ann);
    expect(after.rows).toEqual(full(ann).rows);
    expect(after.blobs).toEqual(before.blobs);
    expect(after.index).toEqual(full(ann).index);
    expect(JSON.parse(noBlobs.stdout).accounts[0].blobs).toBe(0);

    fs.writeFileSync(strayIndex, 'stray again');
    const withStray = await r.digest(ann);
    const noIndex = await cli(['zmrestore', '-a', ann, '-rf', '--excludeSearchIndex', ...where(), '--json']);
    expect(noIndex.code, noIndex.stderr).toBe(0);
    after = await r.digest(ann);
    expect(after.rows).toEqual(full(ann).rows);
    expect(after.blobs).toEqual(full(ann).blobs);
    expect(after.index).toEqual(withStray.index);
    expect(after.index).not.toEqual(full(ann).index);
    // The index no longer matches the rows: a reindex is asked for, as after replay.
    expect(JSON.parse(noIndex.stdout).reindex.map((x: { email: string }) => x.email)).toEqual([ann]);

    const plain = await cli(['zmrestore', '-a', ann, '-rf', ...where()]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(diffDigests(full(ann), await r.digest(ann))).toEqual([]);
  });
});

describe('zmplayredo guards', () => {
  const logDir = () => path.join(r.server.zimbraHome, 'log');
  const sleeper = () => spawn('sleep', ['600'], { stdio: 'ignore' });
  /** Every log onto one mailbox: ann is back at the full, so a run that is let through changes her. */
  const play = (email: string) => ['zmplayredo', '--mailboxId', String(full(email).mailboxId), ...home()];

  it('refuses while mailboxd runs (its pid file names a live process), changing nothing', async () => {
    const ann = r.emails[0]!;
    fs.mkdirSync(logDir(), { recursive: true });
    const mailboxd = sleeper();
    const pidFile = path.join(logDir(), 'zmmailboxd_java.pid');
    try {
      fs.writeFileSync(pidFile, `${mailboxd.pid}\n`);
      const before = await r.digest(ann);
      const run = await cli(play(ann));
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`mailboxd still running (pid ${mailboxd.pid} in ${pidFile})`);
      expect((await r.digest(ann)).digest).toBe(before.digest);
      expect(fs.existsSync(path.join(logDir(), 'zmplayredo.pid'))).toBe(false);
    } finally {
      mailboxd.kill();
    }
    await new Promise((resolve) => mailboxd.once('exit', resolve));
    // The pid file is left behind by a mailboxd that is gone: that is not a running mailboxd.
    const before = await r.digest(ann);
    const run = await cli([...play(ann), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).applied).toBeGreaterThan(0);
    expect((await r.digest(ann)).digest).not.toBe(before.digest);
    fs.rmSync(pidFile, { force: true });
  });

  it('holds zmplayredo.pid while it runs: a live holder refuses the run, a dead one is taken over', async () => {
    const ann = r.emails[0]!;
    const pidFile = path.join(logDir(), 'zmplayredo.pid');
    const back = await cli(['zmrestore', '-a', ann, '-rf', ...where()]);
    expect(back.code, back.stderr).toBe(0);
    const before = await r.digest(ann);
    const other = sleeper();
    try {
      fs.writeFileSync(pidFile, `${other.pid}\n`);
      const run = await cli(play(ann));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`another instance of zmplayredo (pid=${other.pid}) is already running`);
      expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${other.pid}\n`);
      expect((await r.digest(ann)).digest).toBe(before.digest);
    } finally {
      other.kill();
    }
    await new Promise((resolve) => other.once('exit', resolve));
    const run = await cli([...play(ann), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).applied).toBeGreaterThan(0);
    // Released at the end: the file is gone.
    expect(fs.existsSync(pidFile)).toBe(false);
  });
});
