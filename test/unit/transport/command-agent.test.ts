import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandAgent } from '../../../src-main/engine/transport/command-agent';
import { AGENT_WINDOW_BYTES } from '../../../src-main/engine/transport/command-agent-script';
import { waitFor } from '../../helpers/wait-for';
import { outcome, type ProcessChannel, startLocalAgent } from './local-agent';
import { processesWithArgs } from './process-tree';

/** The agent's protocol, with the agent run by this machine's perl (local-agent.ts). */
let agent: CommandAgent;
beforeAll(async () => {
  const started = await startLocalAgent();
  expect(started).not.toBeNull();
  agent = started!;
});
afterAll(() => agent?.close());

describe('the command agent', () => {
  it('runs argv with no shell, passing stdin, stdout, stderr and the exit status', async () => {
    const hostile = `$(touch /tmp/pwned-agent) 'quoted' "double" ; | * \n`;
    const echoed = await outcome(agent.run(['printf', '%s', hostile]));
    expect(echoed).toEqual({ stdout: Buffer.from(hostile), stderr: '', code: 0 });
    const mixed = await outcome(agent.run(['sh', '-c', 'cat; echo oops >&2; exit 7']), 'in\0put');
    expect(mixed).toEqual({ stdout: Buffer.from('in\0put'), stderr: 'oops\n', code: 7 });
  });

  it('sets the variables of a leading `env NAME=value` itself, as env would', async () => {
    const got = await outcome(
      agent.run(['env', 'MV_ONE=1 2', 'MV_TWO=a=b', 'sh', '-c', 'printf "%s|%s" "$MV_ONE" "$MV_TWO"']),
    );
    expect(got).toEqual({ stdout: Buffer.from('1 2|a=b'), stderr: '', code: 0 });
  });

  it('says what a shell says of a program it cannot find, with status 127', async () => {
    expect(await outcome(agent.run(['no-such-program-here', 'x']))).toEqual({
      stdout: Buffer.alloc(0),
      stderr: 'no-such-program-here: command not found\n',
      code: 127,
    });
  });

  it('reports a command killed by a signal as 128 + its number', async () => {
    expect((await outcome(agent.run(['sh', '-c', 'kill -9 $$']))).code).toBe(137);
  });

  it('sends a paused command no more than its credit, while others go on, and all of it once read', async () => {
    const bytes = 4 * AGENT_WINDOW_BYTES;
    const big = agent.run(['head', '-c', String(bytes), '/dev/urandom']);
    big.pause();
    big.end();
    // Meanwhile, a command that is read goes through.
    for (let i = 0; i < 3; i++)
      expect((await outcome(agent.run(['echo', String(i)]))).stdout.toString()).toBe(`${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(big.readableLength).toBeGreaterThan(0);
    expect(big.readableLength).toBeLessThanOrEqual(AGENT_WINDOW_BYTES);
    let received = 0;
    const done = new Promise((resolve) => big.once('end', resolve));
    big.on('data', (chunk: Buffer) => (received += chunk.length));
    big.resume(); // a 'data' listener does not undo an explicit pause()
    await done;
    expect(received).toBe(bytes);
  });

  it('delivers a large output byte-exact', async () => {
    const expected = execFileSync('seq', ['1', '2000000'], { maxBuffer: 64 << 20 });
    const got = await outcome(agent.run(['seq', '1', '2000000']));
    expect(crypto.createHash('sha256').update(got.stdout).digest('hex')).toBe(
      crypto.createHash('sha256').update(expected).digest('hex'),
    );
  });

  it('kills an abandoned command', async () => {
    const sleeper = agent.run(['sleep', '60.9876']);
    sleeper.end();
    await waitFor('the sleep to start', () => processesWithArgs('sleep 60.9876') > 0, 5_000);
    sleeper.close();
    await waitFor('the sleep to end', () => processesWithArgs('sleep 60.9876') === 0, 5_000);
  });

  it('writes nothing once closed, not even what was queued just before (that goes first)', async () => {
    const channels: ProcessChannel[] = [];
    const own = (await startLocalAgent(process.env, channels))!;
    const command = own.run(['sleep', '5']);
    command.end(); // queued with its start, for the next turn of the event loop
    own.close();
    expect(own.alive).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(channels[0]!.writeErrors).toEqual([]);
  });
});
