import os from 'node:os';
import type { ExecChannel } from './command-agent';
import { quoteArgv } from './shell-quote';
import type { SshLink } from './ssh-link';
import { TransportError, type ExecOptions } from './types';

export interface ExecOutcome {
  code: number;
  stderr: string;
}

/** The exit status as a shell reports it: the code, or 128 + the number of the killing signal. */
export function exitStatus(code: number | null | undefined, signal: string | undefined): number {
  if (typeof code === 'number') return code;
  // ssh2 names the signal "SIGPIPE"; the protocol itself says "PIPE".
  const name = (signal ?? '').replace(/^(SIG)?/, 'SIG') as NodeJS.Signals;
  return 128 + (os.constants.signals[name] ?? 0);
}

/** Quotes argv for the remote shell, as a TransportError when it cannot be (NUL, empty). */
export function commandLine(link: Pick<SshLink, 'name'>, argv: readonly string[]): string {
  try {
    return quoteArgv(argv);
  } catch (error) {
    throw new TransportError(link.name, `invalid command: ${(error as Error).message}`, {
      code: 'INVALID_ARGUMENT',
      cause: error,
    });
  }
}

/**
 * Runs argv on the server, handing stdout to onStdout as it arrives. Resolves when the channel
 * closes with an exit status; rejects with the link's error if the connection drops first, and
 * with TIMEOUT after timeoutMs (the command is killed on the server by timeout(1)).
 */
export async function execStreaming(
  link: SshLink,
  argv: readonly string[],
  options: ExecOptions & { onStdout: (chunk: Buffer) => void },
): Promise<ExecOutcome> {
  // The server enforces the timeout itself with coreutils' timeout(1): closing an SSH channel does
  // not stop its command, and ssh2 sends no "signal" request once stdin is closed (it always is).
  const remote =
    options.timeoutMs === undefined
      ? argv
      : ['timeout', '-s', 'KILL', (options.timeoutMs / 1000).toFixed(3), ...argv];
  const channel = await link.openExec(remote);
  return channelOutcome(link, channel, argv[0] ?? '', options);
}

/** Collects what an open exec channel reports; the caller has started it and may still read stdout. */
export function channelOutcome(
  link: SshLink,
  channel: ExecChannel,
  program: string,
  options: ExecOptions & { onStdout?: (chunk: Buffer) => void },
): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    let exit: { code: number | null; signal: string | undefined } | undefined;
    let settled = false;
    const settle = (error: Error | undefined, outcome?: ExecOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopWatching();
      if (error) reject(error);
      else resolve(outcome!);
    };
    const stopWatching = link.onDeath((error) => settle(error));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            // Do not wait for the remote timeout's answer (the link may be what is slow); closing the
            // channel frees its slot once the server confirms.
            channel.close();
            settle(
              new TransportError(link.name, `${program} timed out after ${options.timeoutMs} ms`, {
                code: 'TIMEOUT',
              }),
            );
          }, options.timeoutMs);
    if (options.onStdout) channel.on('data', options.onStdout);
    channel.stderr.setEncoding('utf8');
    channel.stderr.on('data', (chunk: string) => (stderr += chunk));
    channel.on('exit', (code: number | null, signal?: string) => (exit = { code, signal }));
    // The exit status may have arrived before this listener: ssh2 handles every packet of one TCP
    // read at once, so a quick command's whole answer can come with the exec confirmation. ssh2
    // hands the recorded status to 'close' too (code, or null and the signal; undefined if none).
    channel.on('close', (code?: number | null, signal?: string) => {
      if (!exit && code !== undefined) exit = { code, signal };
      if (exit) settle(undefined, { code: exitStatus(exit.code, exit.signal), stderr });
      else
        settle(
          link.failure(
            `${program} ended without an exit status`,
            new Error(stderr.trim() || 'channel closed'),
          ),
        );
    });
    if (options.input !== undefined) channel.end(options.input);
    else channel.end();
  });
}
