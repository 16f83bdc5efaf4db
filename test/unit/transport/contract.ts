import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError, type Transport } from '../../../src-main/engine/transport';
import { makeTree, readAll, startEchoServer, type EchoServer, type TreeFixture } from './fixtures';

/**
 * The behaviour every Transport must share, run against LocalTransport (unit) and SshTransport
 * over a real sshd on this machine (integration). Both see the same file system, so each result
 * is checked against what node:fs says about the file, field for field.
 */
export function transportContract(getTransport: () => Transport): void {
  let tree: TreeFixture;
  let tcpEcho: EchoServer;
  let unixEcho: EchoServer;
  const t = (): Transport => getTransport();

  beforeAll(async () => {
    tree = makeTree();
    tcpEcho = await startEchoServer({ host: '127.0.0.1' });
    unixEcho = await startEchoServer({ socketPath: path.join(tree.root, 'echo.sock') });
  });
  afterAll(async () => {
    await tcpEcho?.close();
    await unixEcho?.close();
    if (tree) fs.rmSync(tree.root, { recursive: true, force: true });
  });

  const expectedInfo = (rel: string, full = path.join(tree.root, rel)) => {
    const st = fs.statSync(full);
    const { size, mtimeMs, ino, dev, nlink } = st;
    return { path: rel, size, mtimeMs, ino, dev, nlink, isDirectory: st.isDirectory() };
  };

  describe('walk', () => {
    it('lists every regular file, recursively, with the values node:fs gives', async () => {
      const listed = await t().walk(tree.root);
      expect(listed.map((f) => f.path).sort()).toEqual([...tree.files.keys()].sort());
      for (const info of listed) expect(info).toEqual(expectedInfo(info.path));
    });

    it('shows hard links as one inode with nlink 2', async () => {
      const listed = await t().walk(tree.root);
      const [a, b] = tree.hardLinks.map((rel) => listed.find((f) => f.path === rel)!);
      expect(a!.ino).toBe(b!.ino);
      expect(a!.dev).toBe(b!.dev);
      expect([a!.nlink, b!.nlink]).toEqual([2, 2]);
    });

    it('gives [] for a missing directory and lists a subdirectory relative to itself', async () => {
      expect(await t().walk(path.join(tree.root, 'no-such-dir'))).toEqual([]);
      const sub = await t().walk(path.join(tree.root, 'a'));
      expect(sub.map((f) => f.path)).toEqual(['b/c/deep.bin']);
    });
  });

  describe('readFiles', () => {
    it('streams the files byte-exact in the order asked, with size and mtime', async () => {
      const order = [...tree.files.keys()].sort().reverse();
      const seen: string[] = [];
      for await (const entry of t().readFiles(tree.root, order)) {
        seen.push(entry.path);
        const expected = expectedInfo(entry.path);
        expect({ size: entry.size, mtimeMs: entry.mtimeMs }).toEqual({
          size: expected.size,
          mtimeMs: expected.mtimeMs,
        });
        expect((await readAll(entry.content)).equals(tree.files.get(entry.path)!), entry.path).toBe(true);
      }
      expect(seen).toEqual(order);
    });

    it('skips files that do not exist or are not regular files', async () => {
      const asked = ['top.txt', 'gone.txt', 'a/b', 'missing/dir/x', tree.longPath];
      const seen: string[] = [];
      for await (const entry of t().readFiles(tree.root, asked)) {
        seen.push(entry.path);
        await readAll(entry.content);
      }
      expect(seen).toEqual(['top.txt', tree.longPath]);
    });

    it('gives both hard links their content', async () => {
      const contents: string[] = [];
      for await (const entry of t().readFiles(tree.root, tree.hardLinks))
        contents.push((await readAll(entry.content)).toString());
      expect(contents).toEqual(['a blob shared by two mailboxes\n', 'a blob shared by two mailboxes\n']);
    });

    it('discards an entry the consumer left unread and goes on with the next', async () => {
      const asked = ['a/b/c/deep.bin', 'top.txt', 'a/b/c/deep.bin', 'names/with space.txt'];
      const read: Array<[string, number]> = [];
      let i = 0;
      for await (const entry of t().readFiles(tree.root, asked)) {
        if (i++ % 2 === 1) read.push([entry.path, (await readAll(entry.content)).length]);
      }
      expect(read).toEqual([
        ['top.txt', 10],
        ['names/with space.txt', 5],
      ]);
    });

    it('lets a consumer stop early, freeing what the iteration held', async () => {
      // Over SSH each iteration holds a channel; ten abandoned ones would exhaust the default 8.
      for (let round = 0; round < 10; round++) {
        for await (const entry of t().readFiles(tree.root, ['a/b/c/deep.bin', 'top.txt'])) {
          expect(entry.path).toBe('a/b/c/deep.bin');
          break;
        }
      }
      expect((await t().exec(['echo', 'still here'])).stdout.toString()).toBe('still here\n');
    });

    it('yields nothing for an empty list', async () => {
      for await (const _entry of t().readFiles(tree.root, [])) throw new Error('unexpected entry');
    });
  });

  describe('stat and readFile', () => {
    it('stats files and directories, following symbolic links', async () => {
      const file = path.join(tree.root, 'a/b/c/deep.bin');
      expect(await t().stat(file)).toEqual(expectedInfo(file, file));
      const dir = path.join(tree.root, 'a');
      expect(await t().stat(dir)).toMatchObject({ path: dir, isDirectory: true });
      const link = path.join(tree.root, 'link-to-top');
      expect(await t().stat(link)).toMatchObject({ path: link, size: 10, isDirectory: false });
    });

    it('gives null for a missing path, also below a file', async () => {
      expect(await t().stat(path.join(tree.root, 'nope'))).toBeNull();
      expect(await t().stat(path.join(tree.root, 'top.txt', 'below'))).toBeNull();
    });

    it('reads a whole file, and fails with a TransportError naming the server when it is missing', async () => {
      expect(await t().readFile(path.join(tree.root, tree.longPath))).toEqual(
        Buffer.from('long path content'),
      );
      const error = await t()
        .readFile(path.join(tree.root, 'nope'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransportError);
      expect((error as TransportError).message.startsWith(`${t().name}: `)).toBe(true);
      expect((error as TransportError).code).toBe('ENOENT');
    });
  });

  describe('exec', () => {
    it('passes input, returns binary stdout, stderr and the exit code', async () => {
      const input = Buffer.from([0, 1, 2, 255, 10, 13]);
      const cat = await t().exec(['cat'], { input });
      expect(cat).toEqual({ stdout: input, stderr: '', code: 0 });
      const failing = await t().exec(['sh', '-c', 'echo oops >&2; exit 3']);
      expect(failing).toEqual({ stdout: Buffer.alloc(0), stderr: 'oops\n', code: 3 });
      expect((await t().exec(['no-such-program-mailvault'])).code).toBe(127);
    });

    it('hands hostile values to the program literally', async () => {
      const marker = path.join(os.tmpdir(), `mailvault-pwned-${process.pid}`);
      const values = [
        `$(touch ${marker})`,
        `\`touch ${marker}\``,
        "it's",
        'a b',
        '',
        'x\ny',
        '*',
        '$HOME',
        '-n',
      ];
      const result = await t().exec(['printf', '%s\\0', ...values]);
      expect(result.stdout.toString().split('\0').slice(0, -1)).toEqual(values);
      expect(fs.existsSync(marker)).toBe(false);
    });

    it('rejects NUL bytes and stops a command at its timeout', async () => {
      await expect(t().exec(['echo', 'a\0b'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const seconds = `${30 + (process.pid % 1000) / 1000}`; // a command line no one else runs
      const started = Date.now();
      await expect(t().exec(['sleep', seconds], { timeoutMs: 300 })).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      // The command itself is killed, not just abandoned.
      const stillRunning = () => spawnSync('pgrep', ['-fx', `sleep ${seconds}`]).status === 0;
      for (let i = 0; i < 40 && stillRunning(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stillRunning()).toBe(false);
    });
  });

  describe('connect', () => {
    const roundTrip = async (socket: Duplex): Promise<string> => {
      socket.end('ping');
      return (await readAll(socket)).toString();
    };

    it('reaches a TCP port and a Unix socket as seen from the server', async () => {
      expect(await roundTrip(await t().connect(tcpEcho.address as { host: string; port: number }))).toBe(
        'echo:ping',
      );
      expect(await roundTrip(await t().connect(unixEcho.address))).toBe('echo:ping');
    });

    it('fails with a TransportError when nothing listens', async () => {
      const error = await t()
        .connect({ socketPath: path.join(tree.root, 'nobody.sock') })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransportError);
      expect((error as Error).message.startsWith(`${t().name}: `)).toBe(true);
    });
  });
}
