import net from 'node:net';
import type { ConnectTarget, Transport } from '../transport/types';

/**
 * A loopback port whose connections are carried to `target` as the server sees it (a forwarded
 * channel over SSH, a plain socket locally). mysql2 and ldapts open their own sockets and cannot
 * be handed an already-open stream asynchronously, so they are pointed at this port instead.
 * It listens on 127.0.0.1 only, for as long as the backup runs; the services behind it still ask
 * for their own credentials.
 */
export interface Tunnel {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function openTunnel(transport: Transport, target: ConnectTarget): Promise<Tunnel> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pause();
    transport.connect(target).then(
      (remote) => {
        remote.on('error', (error: Error) => client.destroy(error));
        client.on('error', () => remote.destroy());
        client.pipe(remote).pipe(client);
        client.once('close', () => remote.destroy());
        remote.once('close', () => client.destroy());
        client.resume();
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
