import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { runIncrementalBackup } from '../../src-main/engine/backup/incremental-backup';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import { completeSessions } from '../../src-main/engine/target/session-list';
import { LocalTransport } from '../../src-main/engine/transport';
import { verifyTarget } from '../../src-main/engine/verify/verify-target';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { withLab } from '../helpers/lab-fixture';

/**
 * Issue 5's verify: a target the real engine wrote (a full, then two incrementals), then damaged
 * copies of it. Every kind of damage is found, named by file (and account), and the exit status
 * says so.
 */
const ROOT = path.resolve(__dirname, '../..');
let lab: Lab;
let access: ServerAccess;
let sim: MailboxSimulator;
let pristine: string;
const copies: string[] = [];

function copyOfTarget(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-verify-copy-'));
  fs.cpSync(pristine, dir, { recursive: true });
  copies.push(dir);
  return dir;
}

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  sim = await MailboxSimulator.open(server, { seed: 'verify' });
  const [ann, ben] = await sim.provision(['ann', 'ben', 'cat']);
  await sim.populate(8);
  await sim.deliver([ann!, ben!]); // a shared blob
  access = await openServerAccess(new LocalTransport({ name: server.hostname }), {
    zimbraHome: server.zimbraHome,
    local: true,
  });
  pristine = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-verify-'));
  await runFullBackup(access, {
    target: pristine,
    accounts: 'all',
    zip: 'store',
    blobs: true,
    index: true,
    engineVersion: 'test',
  });
  for (let i = 0; i < 2; i++) {
    for (let r = 0; r < 2; r++) {
      await sim.run({ operations: 15 });
      await sim.redo.rollover();
    }
    await runIncrementalBackup(access, { target: pristine, accounts: 'all', engineVersion: 'test' });
  }
});

afterAll(async () => {
  await sim?.close().catch(() => undefined);
  await access?.close();
  await lab?.stop();
  for (const dir of [pristine, ...copies]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('mailvault verify', () => {
  it('finds a target the engine wrote intact, and says so with exit status 0', async () => {
    const verdict = await verifyTarget(pristine);
    expect(verdict.findings).toEqual([]);
    expect(verdict.sessions.map((s) => s.intact)).toEqual([true, true, true]);
    expect(fs.readdirSync(path.join(pristine, 'redologs')).length).toBeGreaterThanOrEqual(4);
    const run = cli('verify', '-t', pristine);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('All intact.');
  });

  it('finds one flipped byte in any file of any session or redo log', async () => {
    const target = copyOfTarget();
    // manifest.json is the reference itself (a flip there either breaks it, and the session is
    // invalid, or changes a value the schema accepts): every other file is fair game.
    const candidates = filesUnder(target).filter(
      (f) => !f.endsWith('manifest.json') && !f.startsWith('logs/'),
    );
    expect(candidates.length).toBeGreaterThan(20);
    let seed = 7;
    const pick = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let round = 0; round < 12; round++) {
      const file = path.join(target, candidates[pick(candidates.length)]!);
      const data = fs.readFileSync(file);
      if (data.length === 0) continue;
      const at = pick(data.length);
      data[at] = data[at]! ^ 0x20;
      fs.writeFileSync(file, data);
      const verdict = await verifyTarget(target);
      expect(verdict.intact, `${file} at ${at}`).toBe(false);
      const named = [...verdict.findings, ...verdict.sessions.flatMap((s) => s.findings)].map(
        (f) => f.file ?? '',
      );
      expect(
        named.some((name) => file.endsWith(name) && name !== ''),
        `${file} is named`,
      ).toBe(true);
      data[at] = data[at]! ^ 0x20; // put it back for the next round
      fs.writeFileSync(file, data);
    }
  });

  it('finds a truncated zip, a missing file and an extra one, naming the account', async () => {
    const target = copyOfTarget();
    const [full] = await completeSessions(target);
    const ann = full!.manifest.accounts.find((a) => a.email.startsWith('ann@'))!;
    const zip = ann.files.find((f) => f.endsWith('blobs.zip'))!;
    const ldif = full!.manifest.accounts
      .find((a) => a.email.startsWith('cat@'))!
      .files.find((f) => f.endsWith('.ldif'))!;
    fs.truncateSync(path.join(full!.dir, zip), fs.statSync(path.join(full!.dir, zip)).size - 100);
    fs.rmSync(path.join(full!.dir, ldif));
    fs.writeFileSync(path.join(full!.dir, 'sys', 'stray.txt'), 'not written by a backup');
    const verdict = await verifyTarget(target, { label: full!.label });
    const findings = verdict.sessions[0]!.findings.map((f) => `${f.email ?? '-'} ${f.file} ${f.problem}`);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^ann@\\S+ ${zip} is \\d+ bytes, the manifest says`)),
        expect.stringMatching(new RegExp(`^cat@\\S+ ${ldif} is missing`)),
        '- sys/stray.txt is not in the manifest',
      ]),
    );
    expect(
      verdict.sessions[0]!.accounts.filter((a) => !a.intact)
        .map((a) => a.email.split('@')[0])
        .sort(),
    ).toEqual(['ann', 'cat']);
    const run = cli('verify', '-t', target, '-lb', full!.label);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('DAMAGED');
  });

  it('finds a redo log gone from redologs/ and reports the gap in sequence', async () => {
    const target = copyOfTarget();
    const logs = fs
      .readdirSync(path.join(target, 'redologs'))
      .sort((a, b) => Number(/seq(\d+)/.exec(a)![1]) - Number(/seq(\d+)/.exec(b)![1]));
    fs.rmSync(path.join(target, 'redologs', logs[1]!));
    const verdict = await verifyTarget(target);
    const problems = verdict.findings.map((f) => `${f.file ?? ''} ${f.problem}`);
    expect(problems).toEqual(expect.arrayContaining([`redologs/${logs[1]} is missing`]));
    // A log missing at the source is a gap in the chain the manifests list.
    const gapTarget = copyOfTarget();
    const sessions = await completeSessions(gapTarget);
    const incr = sessions.find((s) => (s.manifest.redoLogs?.length ?? 0) >= 2)!;
    const manifestFile = path.join(incr.dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    const [dropped] = manifest.redoLogs.splice(0, 1);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    fs.rmSync(path.join(gapTarget, 'redologs', dropped.name));
    const gap = await verifyTarget(gapTarget);
    expect(gap.findings.map((f) => f.problem)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`redo log gap .*: sequence ${dropped.seq} is not in the target`)),
      ]),
    );
  });

  it('refuses a bad label with one line and exit status 2', () => {
    const run = cli('verify', '-t', pristine, '-lb', 'full-2021');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      'mailvault: -lb full-2021: not a session label (full-YYYYMMDD.HHMMSS.mmm)',
    );
  });
});
