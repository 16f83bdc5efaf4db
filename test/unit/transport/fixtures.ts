import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A directory tree with the shapes a Zimbra store has: nesting, hard links, odd names, long paths. */
export interface TreeFixture {
  root: string;
  /** Relative path -> content, for every regular file of the tree. */
  files: Map<string, Buffer>;
  /** A relative path of more than 150 characters (tar's ustar header holds 100). */
  longPath: string;
  hardLinks: [string, string];
}

export function makeTree(): TreeFixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-transport-'));
  const files = new Map<string, Buffer>();
  const write = (rel: string, content: Buffer | string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
    files.set(rel, Buffer.from(content));
  };
  write('top.txt', 'top level\n');
  write('empty', '');
  write('a/b/c/deep.bin', Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)));
  write('names/with space.txt', 'space');
  write('names/it\'s "quoted".txt', 'quotes');
  write('names/$(touch pwned) `x`.txt', 'dollar');
  write('names/-leading-dash', 'dash');
  write('names/ünïcödé.txt', 'unicode');
  const longPath = `long/${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(40)}.msg`;
  write(longPath, 'long path content');
  write('store/0/1/msg/0/257-1.msg', 'a blob shared by two mailboxes\n');
  fs.mkdirSync(path.join(root, 'store/0/2/msg/0'), { recursive: true });
  fs.linkSync(path.join(root, 'store/0/1/msg/0/257-1.msg'), path.join(root, 'store/0/2/msg/0/300-1.msg'));
  files.set('store/0/2/msg/0/300-1.msg', files.get('store/0/1/msg/0/257-1.msg')!);
  // Not regular files: walk must leave them out.
  fs.symlinkSync('top.txt', path.join(root, 'link-to-top'));
  fs.mkdirSync(path.join(root, 'empty-dir'));
  return { root, files, longPath, hardLinks: ['store/0/1/msg/0/257-1.msg', 'store/0/2/msg/0/300-1.msg'] };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export interface EchoServer {
  address: { host: string; port: number } | { socketPath: string };
  close(): Promise<void>;
}

/** Echoes every byte back, prefixed once per connection so a test knows which server answered. */
export async function startEchoServer(
  listenOn: { host: string } | { socketPath: string },
): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('echo:');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('socketPath' in listenOn) server.listen(listenOn.socketPath, resolve);
    else server.listen(0, listenOn.host, resolve);
  });
  const bound = server.address();
  const address =
    'socketPath' in listenOn
      ? { socketPath: listenOn.socketPath }
      : { host: listenOn.host, port: typeof bound === 'object' && bound ? bound.port : 0 };
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
