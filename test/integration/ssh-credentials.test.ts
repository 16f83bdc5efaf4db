import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeSessions } from '../../src-main/engine/target/session-list';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { withLab } from '../helpers/lab-fixture';

/**
 * SSH credentials as an administrator gives them to `mailvault zmbackup -s ssh://…`: an encrypted
 * key with --passphrase-file, typed at a terminal (a real pty from script(1)), or loaded into a
 * real ssh-agent (SSH_AUTH_SOCK, no -i). Each backup must reach the lab's sshd and complete.
 */
const ROOT = path.resolve(__dirname, '../..');
const PASSPHRASE = 'correct horse battery';
let lab: Lab;
let work: string;
let encryptedKey: string;
let agent: ChildProcess | undefined;
let agentSocket: string;

type Result = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `-s ssh://… --host-key … --zimbra-home … -t <fresh target>`, and that target. */
function sshArgs(): { args: string[]; target: string } {
  const server = lab.info.servers[0]!;
  const target = fs.mkdtempSync(path.join(work, 'target-'));
  return {
    target,
    args: [
      'zmbackup',
      '-f',
      '-a',
      'all',
      '--sync',
      '-s',
      `ssh://${server.ssh.user}@${server.ssh.host}:${server.ssh.port}`,
      '--host-key',
      server.ssh.hostKeyFingerprint,
      '--zimbra-home',
      server.zimbraHome,
      '-t',
      target,
    ],
  };
}

async function expectCompleted(result: Result, target: string): Promise<void> {
  expect(result.code, result.stderr).toBe(0);
  const sessions = await completeSessions(target);
  expect(sessions).toHaveLength(1);
  expect(sessions[0]!.manifest.status).toBe('completed');
  expect(sessions[0]!.manifest.accounts).toHaveLength(2);
}

/** Bad input: exit 2, one line on stderr, the target left empty. */
function expectRefused(result: Result, target: string, mentions: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(mentions);
  expect(result.stderr).not.toContain(PASSPHRASE);
  expect(fs.readdirSync(target)).toEqual([]);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-ssh-cred-'));
  lab = await withLab({ servers: 1 });
  const sim = await MailboxSimulator.open(lab.info.servers[0]!, { seed: 'cred' });
  await sim.provision(['k1', 'k2']);
  await sim.populate(5);
  await sim.close();
  // The lab's authorized client key, re-encrypted: same key pair, now with a passphrase.
  encryptedKey = path.join(work, 'encrypted_ed25519');
  fs.copyFileSync(lab.info.servers[0]!.ssh.privateKeyPath, encryptedKey);
  fs.chmodSync(encryptedKey, 0o600);
  const reencrypt = spawnSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASSPHRASE, '-f', encryptedKey]);
  expect(reencrypt.status, reencrypt.stderr.toString()).toBe(0);
  expect(fs.readFileSync(encryptedKey, 'utf8')).toContain('OPENSSH PRIVATE KEY');
}, 180_000);

afterAll(async () => {
  agent?.kill();
  await lab?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('an encrypted -i key', () => {
  it('is opened with --passphrase-file and the backup completes over SSH', async () => {
    const file = path.join(work, 'passphrase');
    fs.writeFileSync(file, `${PASSPHRASE}\n`, { mode: 0o600 });
    const { args, target } = sshArgs();
    const result = await cli([...args, '--identity', encryptedKey, '--passphrase-file', file]);
    await expectCompleted(result, target);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
  });

  it('with a wrong passphrase file: one line, exit 2, nothing written', async () => {
    const file = path.join(work, 'wrong');
    fs.writeFileSync(file, 'not it\n');
    const { args, target } = sshArgs();
    const result = await cli([...args, '--identity', encryptedKey, '--passphrase-file', file]);
    expectRefused(result, target, /does not open this key/);
  });

  it('with no passphrase and no terminal: one line saying how to give it, exit 2', async () => {
    const { args, target } = sshArgs();
    const result = await cli([...args, '--identity', encryptedKey]);
    expectRefused(result, target, /encrypted.*--passphrase-file/);
  });

  /** The CLI on a fresh pty (script(1)): what we write to its stdin is typed there. */
  async function atTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
    const command = [
      process.execPath,
      '--import',
      'tsx/esm',
      path.join(ROOT, 'src-main/cli/main.ts'),
      ...args,
    ]
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const prompted = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('Passphrase for')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await Promise.race([prompted, exited]);
    child.stdin.write(`${PASSPHRASE}\r`);
    const code = await exited;
    expect(output).toContain('Passphrase for');
    expect(output).not.toContain(PASSPHRASE); // no echo
    return { code, output };
  }

  it('is asked for at a terminal, without echo, and the backup completes', async () => {
    const { args, target } = sshArgs();
    const { code, output } = await atTerminal([...args, '--identity', encryptedKey]);
    expect(code, output).toBe(0);
    await expectCompleted({ code, stdout: output, stderr: '' }, target);
  });

  it('typed at a terminal, reaches the detached worker of a backup without --sync', async () => {
    const { args, target } = sshArgs();
    const { code, output } = await atTerminal([
      ...args.filter((a) => a !== '--sync'),
      '--identity',
      encryptedKey,
    ]);
    expect(code, output).toBe(0);
    const label = /full-\d{8}\.\d{6}\.\d{3}/.exec(output)?.[0];
    expect(label, output).toBeDefined();
    for (
      const since = Date.now();
      (await completeSessions(target)).length === 0;
      await new Promise((r) => setTimeout(r, 200))
    )
      if (Date.now() - since > 120_000) throw new Error(`${label} did not complete`);
    await expectCompleted({ code, stdout: output, stderr: '' }, target);
    // The worker's log holds no passphrase.
    const logs = path.join(target, 'logs');
    for (const name of fs.readdirSync(logs))
      expect(fs.readFileSync(path.join(logs, name), 'utf8')).not.toContain(PASSPHRASE);
  });
});

describe('ssh-agent', () => {
  beforeAll(async () => {
    agentSocket = path.join(work, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !fs.existsSync(agentSocket); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(agentSocket)).toBe(true);
  });

  it('with no key loaded, the backup is refused by the server (the agent is what authenticates)', async () => {
    const { args, target } = sshArgs();
    const result = await cli(args, { SSH_AUTH_SOCK: agentSocket });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/authentication .* failed/);
    expect(await completeSessions(target)).toHaveLength(0);
  });

  it('with the encrypted key added (ssh-add, passphrase via SSH_ASKPASS), the backup completes without -i', async () => {
    const askpass = path.join(work, 'askpass.sh');
    fs.writeFileSync(askpass, `#!/bin/sh\necho '${PASSPHRASE}'\n`, { mode: 0o700 });
    const added = spawnSync('ssh-add', [encryptedKey], {
      env: {
        ...process.env,
        SSH_AUTH_SOCK: agentSocket,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
        DISPLAY: ':0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(added.status, added.stderr.toString()).toBe(0);
    const listed = spawnSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket } });
    expect(listed.stdout.toString()).toMatch(/ED25519/);
    const { args, target } = sshArgs();
    await expectCompleted(await cli(args, { SSH_AUTH_SOCK: agentSocket }), target);
  });
});
