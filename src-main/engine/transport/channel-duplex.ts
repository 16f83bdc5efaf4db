import { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';

/**
 * A forwarded socket (direct-tcpip or streamlocal channel) as a plain Node Duplex. ssh2's
 * channels override destroy() so that it neither takes an error nor emits one, and end quietly
 * when the connection drops; drivers (mysql2, ldapts) must instead see an 'error', so the
 * transport destroys this wrapper with its "connection lost" error.
 */
export class ChannelDuplex extends Duplex {
  constructor(private readonly channel: ClientChannel) {
    super({ allowHalfOpen: true });
    channel.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('end', () => this.push(null));
    channel.on('error', (error: Error) => this.destroy(error));
    // The server closed the channel: finish both sides so the stream closes once its data is read.
    channel.on('close', () => {
      this.push(null);
      this.end();
    });
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.channel.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.channel.destroy();
    callback(error);
  }
}
