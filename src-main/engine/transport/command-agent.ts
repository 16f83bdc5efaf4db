import { Duplex, Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { AGENT_SCRIPT, AGENT_VERSION, AGENT_WINDOW_BYTES } from './command-agent-script';
import { quoteArgv } from './shell-quote';
import { widenWindow } from './ssh-window';

/**
 * What the transport needs of a running command: stdout as the readable side, stdin as the
 * writable side, stderr, an 'exit' event with the status, and close() to abandon it. ssh2's
 * exec channel is one; a command run by the agent is another.
 */
export interface ExecChannel extends Duplex {
  readonly stderr: Readable;
  close(): void;
}

const HEADER_BYTES = 9;
/**
 * Credit goes back in steps of this many bytes rather than per packet: each grant is an SSH
 * packet, and a packet written to the socket cost ~0.4 ms of the main thread in the lab
 * (bench/full-backup.ts over SSH: 1 MiB steps were ~1,200 grants a run).
 */
const GRANT_STEP_BYTES = AGENT_WINDOW_BYTES / 2;
/**
 * The agent channel's receive window (see ssh-window.ts). It is never paused (each command's
 * credit bounds what it may send), so its window can be large and topped up rarely.
 */
const CHANNEL_WINDOW_BYTES = 64 << 20;

/** The system's perl, then the one Zimbra ships. */
export const AGENT_INTERPRETERS = ['perl', '/opt/zimbra/common/bin/perl'];

/** Runs the first interpreter found ("$@") on the script ($0). */
const LAUNCHER =
  'for p do if command -v "$p" >/dev/null 2>&1; then exec "$p" -e "$0"; fi; done; echo "mailvault: no perl on this server" >&2; exit 127';

/** One command started by the agent, shaped like an ssh2 exec channel (see ExecChannel). */
class AgentCommand extends Duplex implements ExecChannel {
  readonly stderr = new Readable({ read() {} });
  /** Stdout bytes received and not yet granted back to the agent. */
  private ungranted = 0;
  private exited = false;

  constructor(
    private readonly agent: CommandAgent,
    readonly id: number,
  ) {
    super({ allowHalfOpen: true });
  }

  stdout(data: Buffer): void {
    this.ungranted += data.length;
    // While the reader keeps up, give credit back as it comes; once it pushes back, _read does.
    if (this.push(data)) this.grant();
  }

  exit(status: number): void {
    this.exited = true;
    this.emit('exit', status);
    this.push(null);
    this.stderr.push(null);
  }

  /** The agent's channel is gone: end like an ssh2 channel on a dropped link, with no status. */
  orphan(): void {
    if (!this.exited) this.destroy();
  }

  close(): void {
    this.destroy();
  }

  override _read(): void {
    this.grant();
  }

  private grant(): void {
    // The agent stalls only once AGENT_WINDOW_BYTES are ungranted, so small remainders can wait.
    if (this.ungranted < GRANT_STEP_BYTES) return;
    const credit = Buffer.alloc(4);
    credit.writeUInt32BE(this.ungranted);
    this.ungranted = 0;
    this.agent.send('A', this.id, credit);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.agent.send('I', this.id, chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.agent.send('C', this.id);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.exited) this.agent.send('K', this.id);
    this.agent.forget(this.id);
    if (!this.stderr.destroyed) this.stderr.destroy();
    callback(error);
  }
}

/**
 * Runs the server's commands through one long-lived exec channel (command-agent-script.ts says
 * why and how). `start` resolves to null where the agent cannot run (no perl, a restricted
 * shell): the caller then opens an exec channel per command.
 */
export class CommandAgent {
  private readonly commands = new Map<number, AgentCommand>();
  private nextId = 1;
  private ended = false;
  // The frame being read: its header, then its payload, which may span many SSH packets.
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private type = '';
  private id = 0;
  private remaining = -1;
  private small: Buffer[] = [];
  private onHello: ((version: string) => void) | undefined;
  private closing = false;
  /** Frames sent in this turn of the event loop, written together (see send). */
  private readonly outbox: Buffer[] = [];
  private readonly outboxCallbacks: Array<(error?: Error | null) => void> = [];
  /** True where the agent lists (walkRemote's find) and archives (TAR_ARGV) by itself. */
  native = false;

  private constructor(private readonly channel: ClientChannel) {
    channel.on('data', (chunk: Buffer) => {
      this.receive(chunk);
      widenWindow(channel, CHANNEL_WINDOW_BYTES);
    });
    channel.stderr.resume();
    channel.on('close', () => this.end());
  }

  static async start(
    openChannel: (command: string) => Promise<ClientChannel>,
    timeoutMs: number,
    interpreters: readonly string[] = AGENT_INTERPRETERS,
  ): Promise<CommandAgent | null> {
    let channel: ClientChannel;
    try {
      channel = await openChannel(quoteArgv(['sh', '-c', LAUNCHER, AGENT_SCRIPT, ...interpreters]));
    } catch {
      return null;
    }
    const agent = new CommandAgent(channel);
    const version = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      agent.onHello = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      channel.once('close', () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
    agent.onHello = undefined;
    const [said, ...abilities] = (version ?? '').split('\0');
    agent.native = abilities.includes('native');
    if (said === AGENT_VERSION) return agent;
    channel.close();
    return null;
  }

  get alive(): boolean {
    return !this.ended && !this.closing;
  }

  /** Starts argv on the server (found in the agent's PATH, as a shell would; no shell runs). */
  run(argv: readonly string[]): ExecChannel {
    const id = this.nextId++;
    const started = new AgentCommand(this, id);
    this.commands.set(id, started);
    this.send('S', id, Buffer.from(argv.join('\0')));
    return started;
  }

  /**
   * Queues a frame; the frames queued in one turn of the event loop go out as one channel write.
   * A command's start, its stdin and its end are then one SSH packet and one socket write, not
   * three: a loopback socket write cost 0.26 ms of the main thread in the lab's backup.
   */
  send(type: string, id: number, payload?: Buffer, callback?: (error?: Error | null) => void): void {
    if (this.ended || this.closing) {
      callback?.();
      return;
    }
    const frame = Buffer.allocUnsafe(HEADER_BYTES + (payload?.length ?? 0));
    frame.write(type, 0, 'latin1');
    frame.writeUInt32BE(id, 1);
    frame.writeUInt32BE(payload?.length ?? 0, 5);
    payload?.copy(frame, HEADER_BYTES);
    this.outbox.push(frame);
    if (callback) this.outboxCallbacks.push(callback);
    if (this.outbox.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const frames = this.outbox.splice(0);
    const callbacks = this.outboxCallbacks.splice(0);
    if (frames.length === 0) return;
    if (this.ended || this.closing) {
      for (const callback of callbacks) callback();
      return;
    }
    this.channel.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames), (error) => {
      for (const callback of callbacks) callback(error);
    });
  }

  forget(id: number): void {
    this.commands.delete(id);
  }

  close(): void {
    // What is queued (a kill, say) goes first; nothing is written once the channel is closing.
    this.flush();
    this.closing = true;
    this.channel.close();
  }

  private end(): void {
    this.ended = true;
    for (const command of [...this.commands.values()]) command.orphan();
    this.commands.clear();
  }

  private receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining < 0) {
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        this.type = String.fromCharCode(this.header[0]!);
        this.id = this.header.readUInt32BE(1);
        this.remaining = this.header.readUInt32BE(5);
      } else {
        const n = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        at += n;
        this.remaining -= n;
        // Output goes on as it arrives, a packet at a time, never gathered into whole frames.
        const command = this.commands.get(this.id);
        if (this.type === 'O') command?.stdout(piece);
        else if (this.type === 'E') command?.stderr.push(piece);
        else this.small.push(piece);
      }
      if (this.remaining === 0) this.frameDone();
    }
  }

  private frameDone(): void {
    const payload = Buffer.concat(this.small).toString('utf8');
    this.small = [];
    this.remaining = -1;
    const command = this.commands.get(this.id);
    if (this.type === 'H') this.onHello?.(payload);
    else if (this.type === 'X') command?.exit(Number(payload));
    else if (this.type === 'F') {
      command?.stderr.push(`mailvault agent: cannot start the command: ${payload}\n`);
      command?.exit(127);
    }
  }
}
