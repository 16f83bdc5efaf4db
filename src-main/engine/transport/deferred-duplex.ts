import { Duplex } from 'node:stream';

/**
 * A connection handed to a driver at once, while it is still being opened: mysql2 calls its
 * `stream` option synchronously, but a forwarded SSH channel opens asynchronously. Writes wait
 * for the connection; its data, end, close and errors come through as they happen, and a failure
 * to open is this stream's error (the driver then reports it as it would a refused socket).
 *
 * With it mysql2 reads the forwarded channel directly. Before, it went through a loopback port
 * (tunnel.ts): every byte of every row was written to a local socket and read back by the same
 * process, about 0.6 s of the main thread in a 100 × 500 backup over SSH (bench/full-backup.ts).
 */
export class DeferredDuplex extends Duplex {
  private remote: Duplex | null = null;

  constructor(private readonly opening: Promise<Duplex>) {
    // Like a TCP socket (allowHalfOpen false): once the server's side has ended, ours ends too,
    // which sends the channel's EOF; sshd closes a forwarded channel only after both EOFs, and the
    // driver counts on the stream's 'close' to learn the connection is gone.
    super({ allowHalfOpen: false });
    opening.then(
      (remote) => this.attach(remote),
      (error: Error) => this.destroy(error),
    );
  }

  private attach(remote: Duplex): void {
    if (this.destroyed) {
      remote.destroy();
      return;
    }
    this.remote = remote;
    remote.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) remote.pause();
    });
    remote.on('end', () => this.push(null));
    remote.on('error', (error: Error) => this.destroy(error));
    // The server closed the connection: once its data is read this stream closes too, even with
    // a write still waiting (a dead channel never calls it back), so the driver sees the close.
    remote.on('close', () => {
      this.push(null);
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    });
  }

  override _read(): void {
    this.remote?.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.remote) this.remote.write(chunk, encoding, callback);
    // Writable calls _write again only after this callback: the writes stay in order.
    else this.opening.then((remote) => remote.write(chunk, encoding, callback), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.opening.then((remote) => {
      remote.end();
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Not yet open: attach() destroys the connection when it comes.
    this.remote?.destroy();
    callback(error);
  }
}
