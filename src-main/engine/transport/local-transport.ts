import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { settleEntry, wholeEntry } from './entry-stream';
import { exactFileStream } from './exact-file-stream';
import { fsError, isMissing } from './fs-errors';
import { readAhead, ShrankError, type Prefetched } from './local-read-ahead';
import { infoFrom, walkLocal } from './local-walk';
import {
  TransportError,
  type ConnectTarget,
  type ExecOptions,
  type ExecResult,
  type FileEntry,
  type ReadFilesOptions,
  type RemoteFileInfo,
  type Transport,
} from './types';

/** Small files read ahead of the consumer (at most this many × 1 MiB held). */
const READ_AHEAD_FILES = 16;

/** The server is this machine: the engine runs on the Zimbra host itself. */
export class LocalTransport implements Transport {
  readonly name: string;
  private closed = false;

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? `${os.hostname()} (local)`;
  }

  async readFile(filePath: string): Promise<Buffer> {
    this.assertOpen();
    try {
      return await fs.readFile(filePath);
    } catch (error) {
      throw fsError(this.name, 'read', filePath, error);
    }
  }

  async stat(filePath: string): Promise<RemoteFileInfo | null> {
    this.assertOpen();
    try {
      return infoFrom(filePath, await fs.stat(filePath));
    } catch (error) {
      if (isMissing(error)) return null;
      throw fsError(this.name, 'stat', filePath, error);
    }
  }

  async walk(dir: string): Promise<RemoteFileInfo[]> {
    this.assertOpen();
    return walkLocal(this.name, dir);
  }

  async *readFiles(
    root: string,
    relPaths: string[],
    options: ReadFilesOptions = {},
  ): AsyncIterable<FileEntry> {
    this.assertOpen();
    const fullPaths = relPaths.map((rel) => path.join(root, rel));
    for await (const { index, file } of this.prefetched(fullPaths, options.listed)) {
      const rel = relPaths[index]!;
      const full = fullPaths[index]!;
      if (file.kind === 'skip') continue;
      if (file.kind === 'small') {
        yield wholeEntry(rel, file.mtimeMs, [file.data]);
        continue;
      }
      const entry = await this.openLarge(full);
      if (!entry) continue;
      let resumed = false;
      try {
        yield { path: rel, ...entry };
        resumed = true;
      } finally {
        if (!resumed) entry.content.destroy(); // the consumer stopped early: close the file now, not at GC
      }
      await settleEntry(entry.content);
    }
  }

  /** readAhead, with its failures as TransportErrors naming the file and the step. */
  private async *prefetched(
    fullPaths: string[],
    listed: ReadFilesOptions['listed'],
  ): AsyncGenerator<{ index: number; file: Prefetched }> {
    const files = readAhead(fullPaths, READ_AHEAD_FILES, listed)[Symbol.asyncIterator]();
    let index = 0;
    for (;;) {
      let next: IteratorResult<{ index: number; file: Prefetched }>;
      try {
        next = await files.next();
      } catch (error) {
        const full = fullPaths[index]!;
        if (error instanceof ShrankError) throw new TransportError(this.name, `${full} ${error.message}`);
        throw fsError(this.name, (error as { step?: string }).step ?? 'read', full, error);
      }
      if (next.done) return;
      index = next.value.index + 1;
      yield next.value;
    }
  }

  /** A file too big to hold whole, opened again for streaming; null if it went meanwhile. */
  private async openLarge(
    full: string,
  ): Promise<{ size: number; mtimeMs: number; content: Readable } | null> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(full, 'r');
    } catch (error) {
      if (isMissing(error)) return null; // deleted since it was listed
      throw fsError(this.name, 'open', full, error);
    }
    const st = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw fsError(this.name, 'stat', full, error);
    });
    if (!st.isFile()) {
      await handle.close();
      return null;
    }
    const content = exactFileStream(
      handle,
      st.size,
      (got) => new TransportError(this.name, `${full} shrank while being read (${got} of ${st.size} bytes)`),
    );
    return { size: st.size, mtimeMs: st.mtimeMs, content };
  }

  async copyToLocal(source: string, dest: string): Promise<boolean> {
    this.assertOpen();
    try {
      // libuv copies with copy_file_range: no user-space copy. No reflink asked for: a backup
      // sharing its blocks with the original would share their damage too. (On btrfs or XFS the
      // kernel may still share blocks when both files are on one file system; a target on the
      // server's own file system protects against little anyway.)
      await fs.copyFile(source, dest, fsConstants.COPYFILE_EXCL);
      return true;
    } catch (error) {
      // ENOENT names neither side: only a missing source means "gone", a missing dest dir fails.
      if (isMissing(error) && (await this.stat(source)) === null) return false;
      // A full disk is this machine's, not the server's: its errno stays for callers that stop on it.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw error;
      throw fsError(this.name, 'copy', `${source} to ${dest}`, error);
    }
  }

  async readHead(filePath: string, bytes: number): Promise<Buffer | null> {
    this.assertOpen();
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(filePath, 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw fsError(this.name, 'open', filePath, error);
    }
    try {
      const buffer = Buffer.alloc(bytes);
      let got = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, got, bytes - got, got);
        if (bytesRead === 0 || (got += bytesRead) === bytes) break;
      }
      return buffer.subarray(0, got);
    } catch (error) {
      throw fsError(this.name, 'read', filePath, error);
    } finally {
      await handle.close();
    }
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen();
    if (argv.length === 0 || argv.some((arg) => arg.includes('\0'))) {
      throw new TransportError(this.name, `invalid command ${JSON.stringify(argv)} (empty, or a NUL byte)`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, options.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      // A program that exits without reading its input must not fail the call (EPIPE).
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // Report a missing program as a remote shell would, so callers handle both the same way.
        if (error.code === 'ENOENT')
          resolve({ stdout: Buffer.alloc(0), stderr: `${argv[0]}: command not found\n`, code: 127 });
        else
          reject(new TransportError(this.name, `cannot run ${argv[0]}: ${error.message}`, { cause: error }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(
            new TransportError(this.name, `${argv[0]} timed out after ${options.timeoutMs} ms`, {
              code: 'TIMEOUT',
            }),
          );
          return;
        }
        const status = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
        resolve({ stdout: Buffer.concat(stdout), stderr, code: status });
      });
    });
  }

  async connect(target: ConnectTarget): Promise<Duplex> {
    this.assertOpen();
    const where = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
    return new Promise((resolve, reject) => {
      const socket =
        'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, target.host);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) =>
        reject(
          new TransportError(this.name, `cannot connect to ${where}: ${error.message}`, {
            code: 'CONNECT_FAILED',
            cause: error,
          }),
        ),
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError(this.name, 'transport is closed', { code: 'CLOSED' });
  }
}
