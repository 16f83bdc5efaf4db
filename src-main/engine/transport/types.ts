import type { Duplex } from 'node:stream';

/**
 * How the engine reaches a Zimbra server's files, commands and sockets: on the machine itself
 * (LocalTransport) or over one SSH connection (SshTransport). Everything above this layer is
 * written once against this interface, so both must behave the same, including on errors.
 */

export interface RemoteFileInfo {
  /** For walk: relative to the walked directory; for stat: the path asked for. */
  path: string;
  size: number;
  /** Same arithmetic as Node's Stats.mtimeMs (sec * 1e3 + nsec / 1e6), so local and SSH values compare equal. */
  mtimeMs: number;
  ino: number;
  dev: number;
  nlink: number;
  isDirectory: boolean;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
  /** The exit status; 128 + signal number when killed by a signal (as a shell reports it). */
  code: number;
}

export interface ExecOptions {
  input?: Buffer | string;
  timeoutMs?: number;
}

export type ConnectTarget = { host: string; port: number } | { socketPath: string };

export interface FileEntry {
  /** The relative path exactly as passed to readFiles. */
  path: string;
  /** The size when the file was opened; exactly this many bytes are streamed. */
  size: number;
  mtimeMs: number;
  content: NodeJS.ReadableStream;
  /**
   * The same bytes as `content`, when the transport already holds the file whole (LocalTransport
   * reads small files ahead): a consumer may take them instead of reading the stream.
   */
  data?: Buffer;
  /**
   * The same bytes as `data`, in the pieces the transport received them in (a file that spans
   * two SSH packets): a consumer that copies them anyway takes these, and `data` (joined on
   * first use) is never made.
   */
  parts?: readonly Buffer[];
}

export interface ReadFilesOptions {
  /**
   * What a walk just said of each file (same order as relPaths). A transport may trust it to skip
   * a stat per file: a file still of the listed size is read and given the listed mtime. Only for
   * callers that compare a later listing anyway (a snapshot's catch-up), because a file rewritten
   * in place at the same size then carries its older mtime until that comparison sees it changed.
   */
  listed?: ReadonlyArray<{ size: number; mtimeMs: number }>;
}

export interface Transport {
  /** The server's name, used in every error message (e.g. "mail1.example.com (ssh://root@10.0.0.5:22)"). */
  readonly name: string;
  readFile(path: string): Promise<Buffer>;
  /** Follows symbolic links; null when the path does not exist. */
  stat(path: string): Promise<RemoteFileInfo | null>;
  /**
   * Every regular file under dir, recursively (paths relative to dir), one listing round trip,
   * not one per file. Symbolic links are not followed below dir. A missing dir gives [].
   * Files that vanish during the walk (a live mail server deletes blobs) are left out silently.
   */
  walk(dir: string): Promise<RemoteFileInfo[]>;
  /**
   * Streams the given files (relative to root) in order; each entry's content must be consumed
   * before the next (an entry still unread when the next is requested is read and discarded).
   * A file that no longer exists, or is not a regular file, is skipped: compare entry paths with
   * what you asked for. Any other problem (permission, a file that shrank while read) makes the
   * iteration throw, at the latest after the last entry.
   */
  readFiles(root: string, relPaths: string[], options?: ReadFilesOptions): AsyncIterable<FileEntry>;
  /**
   * Copies one file of the server to a new file on this machine (`dest` must not exist) inside
   * the kernel, its bytes never passing through this process; false if the source does not
   * exist. Only where the server's files are this machine's (LocalTransport); elsewhere callers
   * stream the file with readFiles.
   */
  copyToLocal?(path: string, dest: string): Promise<boolean>;
  /**
   * The first `bytes` bytes of a file (all of it if shorter), null if it does not exist: a log's
   * header without starting a process. Only where the server's files are this machine's;
   * elsewhere callers run `head` through exec.
   */
  readHead?(path: string, bytes: number): Promise<Buffer | null>;
  /** Runs argv with no shell interpretation of values (each argument is quoted for the remote shell). */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** A byte stream to a TCP port or a Unix socket as seen from the server (MariaDB, LDAP). */
  connect(target: ConnectTarget): Promise<Duplex>;
  close(): Promise<void>;
}

/** What went wrong, for callers that act on it rather than show it. */
export type TransportErrorCode =
  | 'ENOENT'
  | 'EACCES'
  | 'IO'
  | 'INVALID_ARGUMENT'
  | 'TIMEOUT'
  | 'CONNECT_FAILED'
  | 'AUTH_FAILED'
  | 'HOST_KEY_CHANGED'
  | 'HOST_KEY_UNKNOWN'
  | 'CONNECTION_LOST'
  | 'CLOSED';

/** Every failure of a transport. The message always starts with the transport name. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(
    transportName: string,
    detail: string,
    options?: { code?: TransportErrorCode; cause?: unknown },
  ) {
    super(`${transportName}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransportError';
    this.code = options?.code ?? 'IO';
  }
}
