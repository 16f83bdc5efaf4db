import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src-main/cli/main';

/**
 * zmschedulebackup's bad input, in process: one `mailvault:` line, exit 2. The server named is a
 * closed port on loopback, so a value that wrongly passed the checks would fail to connect (exit
 * 1) rather than reach any crontab; the control case shows exactly that. The crontab-unchanged
 * half over a real SSH server is in test/integration/schedule.test.ts.
 */
const unreachable = ['--server', 'ssh://root@127.0.0.1:1', '--host-key', `SHA256:${'A'.repeat(43)}`];
let errors: string[];
let output: string[];

beforeEach(() => {
  errors = [];
  output = [];
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void output.push(args.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errors.push(String(chunk).trimEnd());
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('zmschedulebackup bad input', () => {
  it.each([
    [['-R', 'f', '0 1 * * 8'], 'f: "0 1 * * 8": Constraint error, got value 8 expected range 0-7'],
    [['-R', 'f', '0 1 * * 6', 'i', '0 1 * * 0-5 *'], 'i: "0 1 * * 0-5 *": a schedule needs five fields'],
    [['-R', 'i', '*/0 * * * *'], 'i: "*/0 * * * *"'],
    [['-R', 'f', '0 1 L * *'], 'bad day of month field "L"'],
    [['-A', 'd', '3w', '0 0 * * *'], 'd 3w: not an age (e.g. 7d, 1m, 1y)'],
    [['-A', 'd', '1.5m', '0 0 * * *'], 'd 1.5m: not an age'],
    [['-A', 'd', '0d', '0 0 * * *'], 'd 0d: not an age'],
    [['-A', 'w', '0 0 * * *'], 'w: not a backup type (f, i or d "<cron>")'],
    [['-A', 'f'], 'f: give the schedule, e.g. f "0 1 * * 6"'],
    [['-A'], '-A: give the schedule'],
    [['-R', '-q', 'f', '0 1 * * 6'], '-q and -R: give one of -q, -s, -A, -R, -F, -D'],
    [['-q', 'f', '0 1 * * 6'], 'f: -q takes no schedule entries (use -A or -R)'],
    [['-F', '-t', '/backup'], '-t: options apply to -A, -R and -D, not -F'],
    [['-R', '--frobnicate', 'f', '0 1 * * 6'], "unknown option '--frobnicate'"],
    [['-R', '-t', 'relative/dir', 'f', '0 1 * * 6'], '-t relative/dir: not an absolute path'],
    [['-R', '-t', '/a/../b', 'f', '0 1 * * 6'], '-t /a/../b: has a ".." segment'],
    [['-R', '-a', 'not-an-address', 'f', '0 1 * * 6'], '-a not-an-address: not an account address'],
    [['-R', '--zip', '--noZip', 'f', '0 1 * * 6'], '--zip, --zipStore and --noZip exclude each other'],
    [
      ['-R', '--excludeHsmBlobs', 'f', '0 1 * * 6'],
      '--excludeHsmBlobs: mailvault backs up every message volume',
    ],
    [['-R', '--mail-to', 'a@x.example', 'f', '0 1 * * 6'], '--mail-to needs --mail-report'],
    [
      ['-R', '--mail-report', '--mail-to', 'nobody', 'f', '0 1 * * 6'],
      '--mail-to nobody: nobody is not a mail address',
    ],
    [
      ['-R', '--mail-report', '--smtp', 'mx:70000', 'f', '0 1 * * 6'],
      '--smtp mx:70000: not [smtps://]host[:port]',
    ],
    [
      ['-R', '--mail-report', '--smtp-auth-file', 'smtp-auth', 'f', '0 1 * * 6'],
      '--smtp-auth-file smtp-auth: not an absolute path',
    ],
    [['-R', '--smtp-auth-file', '/etc/smtp', 'f', '0 1 * * 6'], '--smtp-auth-file needs --mail-report'],
    [['-R', '--crontab-user', 'root;id', 'f', '0 1 * * 6'], '--crontab-user root;id: not a user name'],
  ])('%j: one line naming the value, exit 2', async (args, message) => {
    const code = await main(['zmschedulebackup', ...args, ...unreachable]);
    expect(code).toBe(2);
    expect(output).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^mailvault: /);
    expect(errors[0]).toContain(message);
  });

  it('a pulled schedule needs the host key pinned and a target here', async () => {
    expect(
      await main([
        'zmschedulebackup',
        '-D',
        '--pull',
        '--server',
        'ssh://root@127.0.0.1:1',
        '-t',
        '/b',
        '--crontab-user',
        'mv-no-such-user',
      ]),
    ).toBe(2);
    expect(errors.at(-1)).toContain("--pull: pin the server's host key with --host-key");
    expect(
      await main(['zmschedulebackup', '-D', '--pull', ...unreachable, '--crontab-user', 'mv-no-such-user']),
    ).toBe(2);
    expect(errors.at(-1)).toContain('-t: a pulled backup needs its target directory on this machine');
    expect(
      await main(['zmschedulebackup', '-D', '--pull', '-t', '/b', '--crontab-user', 'mv-no-such-user']),
    ).toBe(2);
    expect(errors.at(-1)).toContain('--pull: give the server to pull from with --server ssh://');
  });

  it('a pulled schedule with an encrypted key needs the passphrase file that opens it (cron cannot type it)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-sched-key-'));
    try {
      const key = path.join(dir, 'id_ed25519');
      const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right horse', '-f', key]);
      expect(made.status, String(made.stderr)).toBe(0);
      const wrong = path.join(dir, 'wrong');
      fs.writeFileSync(wrong, 'battery staple\n');
      const pulled = ['zmschedulebackup', '-D', '--pull', ...unreachable, '-t', '/b', '--identity', key];
      expect(await main([...pulled, '--crontab-user', 'mv-no-such-user'])).toBe(2);
      expect(errors.at(-1)).toContain(`--identity ${key}: the key is encrypted and cron cannot type its passphrase`);
      expect(await main([...pulled, '--passphrase-file', wrong, '--crontab-user', 'mv-no-such-user'])).toBe(2);
      expect(errors.at(-1)).toContain(`the passphrase in ${wrong} does not open this key`);
      // The right one gets past every check: only the crontab of a user that does not exist fails.
      const right = path.join(dir, 'right');
      fs.writeFileSync(right, 'right horse\n');
      expect(await main([...pulled, '--passphrase-file', right, '--crontab-user', 'mv-no-such-user'])).toBe(1);
      expect(errors.at(-1)).not.toContain('passphrase');
      expect(errors.join('\n')).not.toContain('right horse');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('good input gets past the checks and fails only when reaching the server (exit 1)', async () => {
    const code = await main([
      'zmschedulebackup',
      '-R',
      'f',
      '0 1 * * 6',
      'd',
      '7d',
      '0 0 * * *',
      ...unreachable,
    ]);
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(/^mailvault: 127\.0\.0\.1 \(ssh:\/\/root@127\.0\.0\.1:1\): /);
  });
});
