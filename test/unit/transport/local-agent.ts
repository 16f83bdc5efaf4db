import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { CommandAgent, type ExecChannel } from '../../../src-main/engine/transport/command-agent';

/**
 * The command agent run by this machine's perl, its "channel" a local process's pipes, the way
 * sshd would run it (the command line through sh -c): what the SSH tests cannot see.
 */
export class ProcessChannel extends Duplex {
  readonly stderr;
  /** Failed writes to the agent's stdin (after its end, say): a test expects none. */
  readonly writeErrors: Error[] = [];

  constructor(private readonly child: ReturnType<typeof spawn>) {
    super({ allowHalfOpen: true });
    this.stderr = child.stderr!;
    child.stdin!.on('error', (error: Error) => this.writeErrors.push(error));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout!.pause();
    });
    child.stdout!.on('end', () => this.push(null));
    child.on('close', () => this.destroy());
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.child.stdin!.write(chunk, () => callback());
  }

  close(): void {
    this.child.stdin!.end();
  }
}

/**
 * An agent on this machine; null if it did not start. `env` is the agent's environment;
 * `channels` gets the channel it runs in.
 */
export function startLocalAgent(
  env: NodeJS.ProcessEnv = process.env,
  channels: ProcessChannel[] = [],
): Promise<CommandAgent | null> {
  return CommandAgent.start(async (command) => {
    const channel = new ProcessChannel(spawn('sh', ['-c', command], { env }));
    channels.push(channel);
    return channel as unknown as ClientChannel;
  }, 10_000);
}

/** Everything a command said, and its exit status, once it has closed. */
export async function outcome(
  channel: ExecChannel,
  input?: Buffer | string,
): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  const stdout: Buffer[] = [];
  let stderr = '';
  let code = -1;
  channel.on('data', (chunk: Buffer) => stdout.push(chunk));
  channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  channel.on('exit', (status: number) => (code = status));
  await new Promise((resolve) => {
    channel.once('close', resolve);
    if (input !== undefined) channel.end(input);
    else channel.end();
  });
  return { stdout: Buffer.concat(stdout), stderr, code };
}
