import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src-main/engine/transport';
import { startSshd, type RunningSshd } from '../../src-main/lab/sshd';
import { transportContract } from '../unit/transport/contract';
import { waitFor } from '../helpers/wait-for';
import { commandName, descendantsOf, processesWithArgs } from '../unit/transport/process-tree';
import { optionsFor } from '../unit/transport/ssh-fixtures';

/**
 * The command agent (transport/command-agent.ts) against a real OpenSSH server: commands run
 * below one Perl process, each command's output is flow-controlled on its own, and where the
 * agent cannot start (or dies) commands still run, in exec channels of their own.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-command-agent-'));
let sshd: RunningSshd;

beforeAll(async () => {
  sshd = await startSshd({ dir: path.join(work, 'sshd'), host: '127.0.0.1', logFile: path.join(work, 'sshd.log') });
});

afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The command name of each process below sshd (the agent is "perl"). */
function commandsBelowSshd(): string[] {
  return descendantsOf(sshd.pid)
    .map(commandName)
    .filter((name) => name !== '');
}

/** The name of the process that started the command (through /bin/sh -c, which execs it). */
async function parentOfCommand(transport: SshTransport): Promise<string> {
  const result = await transport.exec(['sh', '-c', 'ps -o comm= -p "$PPID"']);
  return result.stdout.toString().trim();
}

describe('without perl on the server', () => {
  let transport: SshTransport;
  beforeAll(async () => {
    transport = await SshTransport.connect(optionsFor(sshd, { commandAgentPerl: ['/nonexistent/perl'] }));
  });
  afterAll(() => transport?.close());

  it('runs each command in an exec channel of its own', async () => {
    expect(await parentOfCommand(transport)).not.toBe('perl');
  });

  transportContract(() => transport);
});

describe('with the agent', () => {
  let transport: SshTransport;
  beforeAll(async () => {
    transport = await SshTransport.connect(optionsFor(sshd, { name: 'agent-mail' }));
  });
  afterAll(() => transport?.close());

  it('runs every command below one perl process', async () => {
    const parents = await Promise.all(Array.from({ length: 12 }, () => parentOfCommand(transport)));
    expect(new Set(parents)).toEqual(new Set(['perl']));
    expect(commandsBelowSshd().filter((name) => name === 'perl')).toHaveLength(1);
  });

  it('holds back a command whose reader is slow without holding back the others', async () => {
    const root = path.join(work, 'big');
    fs.mkdirSync(root, { recursive: true });
    const data = crypto.randomBytes(24 << 20);
    fs.writeFileSync(path.join(root, 'big.bin'), data);
    const entries = transport.readFiles(root, ['big.bin'])[Symbol.asyncIterator]();
    const entry = (await entries.next()).value!;
    entry.content.pause();
    // The paused 24 MiB stream has taken its credit; other commands still come and go.
    for (let i = 0; i < 5; i++) expect((await transport.exec(['echo', String(i)])).stdout.toString()).toBe(`${i}\n`);
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect((await entries.next()).done).toBe(true);
  });

  it('kills what is still running when the connection closes', async () => {
    const closing = await SshTransport.connect(optionsFor(sshd, { name: 'closing-mail' }));
    const marker = 'sleep 60.4321'; // a duration nothing else on the machine would sleep
    const running = closing.exec(['sleep', '60.4321']).catch((e: unknown) => e);
    await waitFor(marker, () => processesWithArgs(marker) > 0, 5_000);
    await closing.close();
    await running;
    await waitFor(`${marker} to end`, () => processesWithArgs(marker) === 0, 5_000);
  });

  it('fails the commands of an agent that dies, and runs later ones in channels of their own', async () => {
    const dying = await SshTransport.connect(optionsFor(sshd, { name: 'dying-agent' }));
    expect(await parentOfCommand(dying)).toBe('perl');
    const pending = dying.exec(['sleep', '30.4321']).catch((e: unknown) => e);
    // The agent serving `dying` is the perl whose child is this sleep.
    const agentOfDying = (): number | undefined =>
      agentPids().find((pid) => descendantsOf(pid).some((child) => commandName(child) === 'sleep'));
    await waitFor('the agent running the sleep', () => agentOfDying() !== undefined, 5_000);
    const sleeper = descendantsOf(agentOfDying()!);
    process.kill(agentOfDying()!, 'SIGKILL');
    const error = (await pending) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^dying-agent \(ssh:.*\): sleep ended without an exit status/);
    expect((await dying.exec(['echo', 'after'])).stdout.toString()).toBe('after\n');
    expect(await parentOfCommand(dying)).not.toBe('perl');
    await dying.close();
    for (const pid of sleeper) process.kill(pid, 'SIGKILL'); // orphaned with its agent
  });
});

function agentPids(): number[] {
  return descendantsOf(sshd.pid).filter((pid) => commandName(pid) === 'perl');
}
