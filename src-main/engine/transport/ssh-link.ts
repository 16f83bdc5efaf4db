import { setMaxListeners } from 'node:events';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { ChannelLimiter } from './channel-limiter';
import { CommandAgent, type ExecChannel } from './command-agent';
import { handshake, probeHostKey } from './ssh-handshake';
import { checkHostKey, type HostKeyPolicy } from './host-key';
import { commandLine } from './ssh-exec';
import { TransportError } from './types';

export interface SshTransportOptions extends HostKeyPolicy {
  /** How the server is called in messages; the ssh:// address is appended. */
  name?: string;
  host: string;
  port?: number;
  username: string;
  privateKey?: Buffer;
  passphrase?: string;
  /** Path of an ssh-agent socket (SSH_AUTH_SOCK). */
  agent?: string;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  /** Session channels open at once (OpenSSH's MaxSessions defaults to 10); the SFTP session holds one. */
  maxChannels?: number;
  /**
   * Run commands through one long-lived agent channel (command-agent.ts) rather than an exec
   * channel each; default true. Where the agent cannot start, commands get channels of their own.
   */
  commandAgent?: boolean;
  /** Open the next bulk command's channel ahead of need (openWarmExec); default true. */
  warmChannels?: boolean;
  /** Where the agent looks for perl (default AGENT_INTERPRETERS); tests point it nowhere. */
  commandAgentPerl?: readonly string[];
}

type SshError = Error & { level?: string };

export function sshAddress(o: Pick<SshTransportOptions, 'host' | 'port' | 'username'>): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return `ssh://${o.username}@${host}:${o.port ?? 22}`;
}

/**
 * One authenticated SSH connection and what hangs off it. Its `signal` aborts, with the error to
 * report, when the connection drops or is closed: every operation listens to it, so nothing waits
 * on a channel that will never answer (ssh2 merely ends such channels, as if all went well).
 */
export class SshLink {
  readonly signal: AbortSignal;
  private readonly death = new AbortController();
  private readonly sessions: ChannelLimiter;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private agent: Promise<CommandAgent | null> | undefined;
  /** Exec channels opened ahead of need, by command line (openWarmExec). */
  private readonly spares = new Map<string, Promise<{ channel: ClientChannel; closed: boolean }>>();
  /** Commands running through the agent at once: as many as there could be exec channels. */
  private readonly agentCommands: ChannelLimiter;
  private lastError: SshError | undefined;
  private socketClosed = false;

  private constructor(
    readonly name: string,
    readonly client: Client,
    readonly hostKeyFingerprint: string,
    private readonly options: SshTransportOptions,
  ) {
    this.signal = this.death.signal;
    setMaxListeners(0, this.signal); // one listener per operation in flight, by design
    this.sessions = new ChannelLimiter(options.maxChannels ?? 8);
    this.agentCommands = new ChannelLimiter(options.maxChannels ?? 8);
    // Small request/response exchanges (SFTP, SQL through forwarded channels) must not wait on Nagle.
    client.setNoDelay(true);
    client.on('error', (error: SshError) => (this.lastError = error));
    client.on('close', () => {
      this.socketClosed = true;
      this.die(
        new TransportError(name, `connection lost (${this.lossReason()})`, { code: 'CONNECTION_LOST' }),
      );
    });
  }

  static async open(options: SshTransportOptions): Promise<SshLink> {
    const address = sshAddress(options);
    const name = options.name ? `${options.name} (${address})` : address;
    if ((options.maxChannels ?? 8) < 2)
      throw new TransportError(name, 'maxChannels must be at least 2 (SFTP keeps one)');
    let policy: HostKeyPolicy = options;
    if (options.hostKeyFingerprint === undefined && options.onUnknownHostKey) {
      // Ask between two connections, not inside the handshake: a person may take longer to
      // answer than readyTimeout (or sshd's LoginGraceTime) would wait. The second connection
      // is pinned to the answer, so a key swapped in between is still caught.
      const fingerprint = await checkHostKey(name, options, await probeHostKey(name, options));
      policy = { hostKeyFingerprint: fingerprint };
    }
    let accepted = '';
    const client = await handshake(name, options, async (blob) => {
      accepted = await checkHostKey(name, policy, blob);
    });
    return new SshLink(name, client, accepted, options);
  }

  /** Throws the loss or close error once the link is gone. */
  assertAlive(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /** Runs cleanup (destroy a stream, reject a call) if the link dies first; returns the unsubscribe. */
  onDeath(cleanup: (error: TransportError) => void): () => void {
    const listener = (): void => cleanup(this.signal.reason as TransportError);
    this.signal.addEventListener('abort', listener, { once: true });
    return () => this.signal.removeEventListener('abort', listener);
  }

  /** Rejects with the link's error as soon as it dies, whatever `work` is waiting for. */
  guard<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    return new Promise<T>((resolve, reject) => {
      const off = this.onDeath(reject);
      work.then(resolve, reject).finally(off);
    });
  }

  /**
   * argv running on the server, through the agent when it runs (no shell at all), else in an
   * exec channel of its own (quoted for the login shell); either way its slot frees when the
   * channel closes. An argv no shell could be given (empty, NUL) is an INVALID_ARGUMENT error.
   */
  async openExec(argv: readonly string[]): Promise<ExecChannel> {
    const command = commandLine(this, argv);
    const agent = this.agentAllowed() ? await this.commandAgent() : null;
    if (!agent?.alive) return this.openChannel(command);
    return this.runThroughAgent(agent, argv);
  }

  /**
   * argv with bulk output (TAR_ARGV): through the agent where it writes the archive itself
   * (command-agent-script.ts: no process at all on the server), else in an exec channel of its
   * own opened ahead (openWarmExec), not through the agent's relay.
   */
  async openBulkExec(argv: readonly string[]): Promise<ExecChannel> {
    const agent = this.agentAllowed() ? await this.commandAgent() : null;
    if (agent?.alive && agent.native) return this.runThroughAgent(agent, argv);
    return this.openWarmExec(argv);
  }

  private async runThroughAgent(agent: CommandAgent, argv: readonly string[]): Promise<ExecChannel> {
    const release = await this.agentCommands.acquire(this.signal);
    const channel = agent.run(argv);
    channel.once('close', release);
    return channel;
  }

  /**
   * argv in an exec channel of its own, for bulk output (tar): through the agent's one channel
   * a 1.1 GiB tar took 4.7-5.4 s against 2.8-3.1 s in a channel of its own, idle (the extra hop
   * through perl, and smaller packets). The channel for the next call with the same argv is
   * opened as this one is handed out, so that the session's and login shell's start-up (17-60
   * ms in the lab) is not waited for; it takes a slot only when one is free.
   */
  async openWarmExec(argv: readonly string[]): Promise<ExecChannel> {
    const command = commandLine(this, argv);
    const spare = this.spares.get(command);
    this.spares.delete(command);
    const warm = spare ? await spare.catch(() => null) : null;
    this.warmUp(command);
    if (warm && !warm.closed) return warm.channel;
    return this.openChannel(command);
  }

  private warmUp(command: string): void {
    if (this.options.warmChannels === false || this.signal.aborted || this.spares.has(command)) return;
    const release = this.sessions.tryAcquire();
    if (!release) return;
    const opening = this.startChannel(command, release).then((channel) => {
      const spare = { channel, closed: false };
      channel.once('close', () => {
        spare.closed = true;
        // Ended before it was taken (the server closed it): the next call opens one as usual.
        if (this.spares.get(command) === opening) this.spares.delete(command);
      });
      return spare;
    });
    opening.catch(() => {
      if (this.spares.get(command) === opening) this.spares.delete(command);
    });
    this.spares.set(command, opening);
  }

  /** The agent holds a session channel for good: with SFTP's, at least one must stay for others. */
  private agentAllowed(): boolean {
    return this.options.commandAgent !== false && (this.options.maxChannels ?? 8) >= 3;
  }

  /** The agent, started on first use; null where it cannot run (then it is not tried again). */
  private commandAgent(): Promise<CommandAgent | null> {
    this.agent ??= CommandAgent.start(
      (command) => this.openChannel(command),
      this.options.readyTimeoutMs ?? 20_000,
      this.options.commandAgentPerl,
    );
    return this.agent;
  }

  /** An exec channel running `command`; its slot frees when the channel closes. */
  private async openChannel(command: string): Promise<ClientChannel> {
    return this.startChannel(command, await this.sessions.acquire(this.signal));
  }

  private async startChannel(command: string, release: () => void): Promise<ClientChannel> {
    try {
      const channel = await this.guard(
        new Promise<ClientChannel>((resolve, reject) =>
          this.client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel))),
        ),
      );
      channel.once('close', release);
      return channel;
    } catch (error) {
      release();
      throw this.failure('cannot start a command', error);
    }
  }

  /** The connection's one SFTP session, opened on first use and kept (holding one channel slot). */
  sftp(): Promise<SFTPWrapper> {
    this.assertAlive();
    if (!this.sftpSession) {
      const opening = this.openSftp();
      this.sftpSession = opening;
      opening.catch(() => {
        if (this.sftpSession === opening) this.sftpSession = undefined;
      });
    }
    return this.sftpSession;
  }

  private async openSftp(): Promise<SFTPWrapper> {
    const release = await this.sessions.acquire(this.signal);
    try {
      const sftp = await this.guard(
        new Promise<SFTPWrapper>((resolve, reject) =>
          this.client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))),
        ),
      );
      sftp.once('close', () => {
        release();
        this.sftpSession = undefined; // reopened on next use if the server ended it
      });
      return sftp;
    } catch (error) {
      release();
      throw this.failure('cannot start SFTP', error);
    }
  }

  /** A forwarded stream to a TCP port or Unix socket, opened by the server. */
  forward(target: { host: string; port: number } | { socketPath: string }): Promise<ClientChannel> {
    const where = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
    const opening = new Promise<ClientChannel>((resolve, reject) => {
      const done = (error: Error | undefined, channel: ClientChannel): void =>
        error ? reject(error) : resolve(channel);
      if ('socketPath' in target) this.client.openssh_forwardOutStreamLocal(target.socketPath, done);
      else this.client.forwardOut('127.0.0.1', 0, target.host, target.port, done);
    });
    return this.guard(opening).catch((error: unknown) => {
      throw this.failure(`cannot connect to ${where} from the server`, error, 'CONNECT_FAILED');
    });
  }

  /** Ends the connection; every call still running fails with "transport is closed". */
  async close(): Promise<void> {
    this.die(new TransportError(this.name, 'transport is closed', { code: 'CLOSED' }));
    if (this.socketClosed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2_000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  /** The error to throw for a failed step: the link's own error when the link is what failed. */
  failure(action: string, error: unknown, code: TransportError['code'] = 'IO'): TransportError {
    if (this.signal.aborted) return this.signal.reason as TransportError;
    if (error instanceof TransportError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new TransportError(this.name, `${action}: ${reason}`, { code, cause: error });
  }

  private die(error: TransportError): void {
    if (!this.signal.aborted) this.death.abort(error);
  }

  private lossReason(): string {
    const error = this.lastError;
    if (!error) return 'the server closed the connection';
    if (error.level === 'client-timeout') {
      const interval = this.options.keepaliveIntervalMs ?? 10_000;
      const count = this.options.keepaliveCountMax ?? 3;
      return `no answer to ${count} keepalives sent every ${interval} ms`;
    }
    return error.message;
  }
}
