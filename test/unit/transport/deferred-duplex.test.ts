import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DeferredDuplex } from '../../../src-main/engine/transport/deferred-duplex';

/** A unix-socket server on this machine whose connections `handle` drives. */
async function serve(handle: (socket: net.Socket) => void): Promise<{ path: string; close(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-deferred-'));
  const socketPath = path.join(dir, 's.sock');
  const server = net.createServer(handle);
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    path: socketPath,
    close: () => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real socket, opened only when `release` is called, as a forwarded channel opens later. Half
 * open, as sshd keeps a forwarded channel: after the server's end it stays open until ours.
 */
function openLater(socketPath: string): { opening: Promise<Duplex>; release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const opening = gate.then(async () => {
    const socket = net.connect({ path: socketPath, allowHalfOpen: true });
    await once(socket, 'connect');
    return socket as Duplex;
  });
  return { opening, release };
}

describe('DeferredDuplex', () => {
  let server: { path: string; close(): void } | undefined;
  afterEach(() => server?.close());

  it('keeps writes made before the connection opens, in order, and passes the replies back', async () => {
    server = await serve((socket) => socket.pipe(socket)); // echo
    const later = openLater(server.path);
    const stream = new DeferredDuplex(later.opening);
    const received: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.write('one,');
    stream.write('two,');
    later.release();
    stream.write('three');
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(received).length >= 13 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(Buffer.concat(received).toString()).toBe('one,two,three');
    stream.destroy();
  });

  it('ends and closes when the server closes the connection, as a driver needs to see it', async () => {
    // Like MariaDB killing a connection: a last packet, then the socket is closed.
    server = await serve((socket) => socket.end('bye'));
    const later = openLater(server.path);
    const stream = new DeferredDuplex(later.opening);
    const data: string[] = [];
    stream.on('data', (chunk: Buffer) => data.push(chunk.toString()));
    const ended = once(stream, 'end');
    const closed = once(stream, 'close');
    later.release();
    await ended;
    await closed;
    expect(data.join('')).toBe('bye');
  });

  it('fails with the opening error when the connection cannot be opened', async () => {
    const stream = new DeferredDuplex(Promise.reject(new Error('cannot connect to /gone.sock')));
    const [error] = (await once(stream, 'error')) as [Error];
    expect(error.message).toBe('cannot connect to /gone.sock');
  });

  it('closes a connection that opens after the stream was destroyed', async () => {
    let serverSide: net.Socket | undefined;
    server = await serve((socket) => (serverSide = socket));
    const later = openLater(server.path);
    const stream = new DeferredDuplex(later.opening);
    stream.destroy();
    later.release();
    const socket = (await later.opening) as net.Socket;
    if (!socket.destroyed) await once(socket, 'close');
    expect(socket.destroyed).toBe(true);
    expect(serverSide).toBeDefined();
  });
});
