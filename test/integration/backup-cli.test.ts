import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src-main/engine/target/manifest';
import { sessionDir, tmpSessionDir } from '../../src-main/engine/target/layout';
import { readLiveStatus } from '../../src-main/engine/target/session-status';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { withLab } from '../helpers/lab-fixture';

/** `mailvault zmbackup` and `zmbackupabort` as an administrator types them. */
const ROOT = path.resolve(__dirname, '../..');
let lab: Lab;
let target: string;

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr: stderr.replace(/^npm warn.*\n/gm, '') }));
  });
}

async function waitForSession(label: string, timeoutMs = 60_000) {
  for (
    const started = Date.now();
    Date.now() - started < timeoutMs;
    await new Promise((r) => setTimeout(r, 200))
  ) {
    const reading = await readManifest(sessionDir(target, label));
    if (reading.state === 'complete') return reading.manifest;
  }
  throw new Error(`${label} did not complete`);
}

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const sim = await MailboxSimulator.open(lab.info.servers[0]!, { seed: 'cli' });
  await sim.provision(['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
  await sim.populate(10);
  await sim.close();
  target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-cli-'));
});

afterAll(async () => {
  await lab?.stop();
  if (target) fs.rmSync(target, { recursive: true, force: true });
});

const server = () => ['-s', 'local', '--zimbra-home', lab.info.servers[0]!.zimbraHome, '-t', target];

describe('mailvault zmbackup', () => {
  it('prints the label at once and finishes in the background', async () => {
    const started = await cli(['zmbackup', '-f', '-a', 'all', ...server()]);
    expect(started.code, started.stderr).toBe(0);
    const label = started.stdout.trim();
    expect(label).toMatch(/^full-\d{8}\.\d{6}\.\d{3}$/);
    const manifest = await waitForSession(label);
    expect(manifest.status).toBe('completed');
    expect(manifest.accounts).toHaveLength(6);
  });

  it('stops cleanly on zmbackupabort -lb: the session is kept, marked aborted, with the accounts done so far', async () => {
    const started = await cli(['zmbackup', '-f', '-a', 'all', ...server()], {
      MAILVAULT_FAILPOINT: 'slow-maintenance:5000',
    });
    const label = started.stdout.trim();
    // Abort once an account is done, with ~25 s of slow windows still ahead: a cold CLI start
    // (tsx compiling on a fresh clone, load 20) took 7.6 s, and with 2 s windows the backup
    // sometimes finished first. The abort ends the run after the current window, so it costs little.
    for (const since = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
      const live = await readLiveStatus(tmpSessionDir(target, label));
      if ((live?.accounts.done ?? 0) >= 1) break;
      if (Date.now() - since > 60_000) throw new Error(`${label}: no account done within 60 s`);
    }
    const aborted = await cli(['zmbackupabort', '-lb', label, '-t', target]);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout.trim()).toBe(`${label} aborted`);
    const manifest = await waitForSession(label);
    expect(manifest.status).toBe('aborted');
    expect(manifest.accounts.length).toBeGreaterThan(0);
    expect(manifest.accounts.length).toBeLessThan(6);
  });

  it('answers bad input with one line naming the value, status 2, and changes nothing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-cli-bad-'));
    try {
      const cases: Array<[string[], RegExp]> = [
        [['zmbackup', '-f', '-a', 'not-an-address', '-t', empty], /-a not-an-address/],
        [['zmbackup', '-a', 'all', '-t', empty], /-f/],
        [['zmbackup', '-f', '-a', 'all', '--zip', '--noZip', '-t', empty], /--zip/],
        [['zmbackup', '-f', '-a', 'all', '-s', 'ftp://x', '-t', empty], /-s ftp:\/\/x/],
        [['zmbackup', '-f', '-a', 'all', '-t', 'relative/dir'], /-t relative\/dir/],
        [['zmbackupabort', '-lb', 'yesterday', '-t', empty], /-lb yesterday/],
      ];
      for (const [args, mentions] of cases) {
        const result = await cli(args);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(result.stderr, args.join(' ')).toMatch(mentions);
      }
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
