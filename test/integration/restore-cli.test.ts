import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { parseArchiveFileName } from '../../src-main/engine/redolog/archive-names';
import { targetPaths } from '../../src-main/engine/target/layout';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { diffWithoutIndex, startRestoreLab, type RestoreLab } from '../helpers/restore-lab';
import fs from 'node:fs';

/**
 * The command line on a lab: zmrestore killed with SIGKILL at each of its steps leaves the
 * account in maintenance only until the next engine command, and a rerun completes with the
 * right digest; -restoreToTime in Zimbra's format; zmplayredo onto a full-only restore brings
 * the mailbox to the same instant.
 */
const ROOT = path.resolve(__dirname, '../..');
let r: RestoreLab;

function cli(
  args: string[],
  failpoint = '',
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, MAILVAULT_FAILPOINT: failpoint },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const where = () => ['-s', 'local', '--zimbra-home', r.server.zimbraHome, '-t', r.target];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** yyyy/MM/dd HH:mm:ss.SSS in local time, one of zmrestore's formats. */
function zimbraTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-cli',
    accounts: ['ann', 'ben'],
    messages: 10,
    operations: 120,
    instantsEvery: 19,
  });
});

afterAll(async () => {
  await r?.stop();
});

describe('mailvault zmrestore and zmplayredo', () => {
  it('killed with SIGKILL at each step: no account in maintenance after the next command, and a rerun completes', async () => {
    const instant = r.instants[r.instants.length - 1]!;
    for (const step of ['maintenance', 'files', 'replay']) {
      const killed = await cli(
        ['zmrestore', '-a', instant.email, '-restoreToTime', zimbraTime(instant.atMs), ...where()],
        `restore-step:${step}`,
      );
      expect(killed.signal, `${step}: ${killed.stderr}`).toBe('SIGKILL');
      expect(await accountStatus(r.ldap, instant.email), step).toBe('maintenance');
      const rerun = await cli([
        'zmrestore',
        '-a',
        instant.email,
        '-restoreToTime',
        zimbraTime(instant.atMs),
        ...where(),
        '--json',
      ]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const result = JSON.parse(rerun.stdout);
      expect(result.recoveredFromEarlierRun).toEqual([instant.email]);
      expect(await accountStatus(r.ldap, instant.email)).toBe('active');
      expect(diffWithoutIndex(instant.digest, await r.digest(instant.email)), step).toEqual([]);
    }
    // No journal is left behind in the target.
    expect(fs.readdirSync(targetPaths(r.target).tmp).filter((d) => d.startsWith('restore-'))).toEqual([]);
  });

  it('restores to -restoreToTime and -rf from the command line', async () => {
    for (const instant of r.instants.slice(0, 1)) {
      const run = await cli([
        'zmrestore',
        '-a',
        instant.email,
        '-restoreToTime',
        zimbraTime(instant.atMs),
        ...where(),
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`${instant.email}: restored from ${r.full.label}`);
      expect(diffWithoutIndex(instant.digest, await r.digest(instant.email))).toEqual([]);
    }
    const email = r.emails[0]!;
    const rf = await cli(['zmrestore', '-a', email, '-rf', ...where()]);
    expect(rf.code, rf.stderr).toBe(0);
    expect(diffDigests(r.atFull.get(email)!, await r.digest(email))).toEqual([]);
  });

  it('zmplayredo --mailboxId --toTime over a full-only restore reaches the same instant', async () => {
    const instant = r.instants[1]!;
    const rf = await cli(['zmrestore', '-a', instant.email, '-rf', ...where()]);
    expect(rf.code, rf.stderr).toBe(0);
    const seqOf = (f: string) => parseArchiveFileName(path.basename(f))?.seq ?? Infinity;
    const archive = path.join(r.server.zimbraHome, 'redolog/archive');
    const bySeq = new Map<number, string>();
    for (const dir of [targetPaths(r.target).redologs, archive])
      for (const name of fs.readdirSync(dir))
        if (parseArchiveFileName(name)) bySeq.set(seqOf(name), path.join(dir, name));
    const logfiles = [...bySeq.entries()].sort(([a], [b]) => a - b).map(([, f]) => f);
    logfiles.push(path.join(r.server.zimbraHome, 'redolog/redo.log'));
    const play = await cli([
      'zmplayredo',
      '--mailboxId',
      String(instant.digest.mailboxId),
      '--toTime',
      zimbraTime(instant.atMs),
      '--logfiles',
      ...logfiles,
      '-s',
      'local',
      '--zimbra-home',
      r.server.zimbraHome,
      '--json',
    ]);
    expect(play.code, play.stderr).toBe(0);
    const report = JSON.parse(play.stdout);
    expect(report.applied).toBeGreaterThan(0);
    expect(report.errors).toEqual([]);
    expect(diffWithoutIndex(instant.digest, await r.digest(instant.email))).toEqual([]);
  });

  it('refuses bad values with one line and exit status 2, changing nothing', async () => {
    const before = await r.digest(r.emails[0]!);
    for (const args of [
      ['zmrestore', '-a', r.emails[0]!, '-restoreToTime', 'yesterday', ...where()],
      ['zmrestore', '-a', r.emails[0]!, '-ca', ...where()],
      ['zmplayredo', '--toSeq', '-3', '-s', 'local', '--zimbra-home', r.server.zimbraHome],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^mailvault: /);
    }
    expect((await r.digest(r.emails[0]!)).digest).toBe(before.digest);
  });
});
