import type { Duplex } from 'node:stream';
import { ChannelDuplex } from './channel-duplex';
import { execStreaming } from './ssh-exec';
import { readFileRemote, statRemote, walkRemote } from './ssh-files';
import { SshLink, type SshTransportOptions } from './ssh-link';
import { readFilesOverSsh } from './ssh-read-files';
import type { ConnectTarget, ExecOptions, ExecResult, FileEntry, RemoteFileInfo, Transport } from './types';

/**
 * A Zimbra server reached over one SSH connection. Files are read with SFTP (single files) or a
 * streaming tar (many files), listed with find, and MariaDB/LDAP are reached through forwarded
 * channels. If the connection drops, every pending and later call fails with a TransportError
 * "<name>: connection lost (…)", and streams in flight emit it; reconnecting is the caller's call.
 */
export class SshTransport implements Transport {
  private constructor(private readonly link: SshLink) {}

  static async connect(options: SshTransportOptions): Promise<SshTransport> {
    return new SshTransport(await SshLink.open(options));
  }

  get name(): string {
    return this.link.name;
  }

  /** The host key fingerprint accepted at connect time, to pin after a trust-on-first-use prompt. */
  get hostKeyFingerprint(): string {
    return this.link.hostKeyFingerprint;
  }

  async readFile(path: string): Promise<Buffer> {
    this.link.assertAlive();
    return readFileRemote(this.link, path);
  }

  async stat(path: string): Promise<RemoteFileInfo | null> {
    this.link.assertAlive();
    return statRemote(this.link, path);
  }

  async walk(dir: string): Promise<RemoteFileInfo[]> {
    this.link.assertAlive();
    return walkRemote(this.link, dir);
  }

  /** `listed` is not used: tar reports each file's size and mtime in its header at no cost. */
  readFiles(root: string, relPaths: string[]): AsyncIterable<FileEntry> {
    return readFilesOverSsh(this.link, root, relPaths);
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.link.assertAlive();
    const stdout: Buffer[] = [];
    const { code, stderr } = await execStreaming(this.link, argv, {
      ...options,
      onStdout: (chunk) => stdout.push(chunk),
    });
    return { stdout: Buffer.concat(stdout), stderr, code };
  }

  async connect(target: ConnectTarget): Promise<Duplex> {
    this.link.assertAlive();
    const stream = new ChannelDuplex(await this.link.forward(target));
    const stopWatching = this.link.onDeath((error) => stream.destroy(error));
    stream.once('close', stopWatching);
    return stream;
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
