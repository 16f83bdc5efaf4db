import path from 'node:path';
import { blobDigest } from '../server/blob-digest';
import { blobThread } from './blob-thread';
import type { ServerFiles } from './server-files';

/** A blob write handed to BlobWrites. */
export interface QueuedWrite {
  /** Settles once the file is written (or the write was dropped before it began). */
  readonly done: Promise<void>;
  /** Drops the write if it has not begun (its message was deleted since): true if it is dropped. */
  drop(): boolean;
}

/** A write waiting for its turn, as BlobWrites and the blob thread keep it. */
export interface PendingWrite {
  file: string;
  data: Buffer;
  /** The digest the bytes must have (checked where they are written): not written otherwise. */
  digest?: string;
  state: 'queued' | 'started' | 'dropped';
  resolve(): void;
  reject(error: unknown): void;
}

const EMPTY = Buffer.alloc(0);

/** A write to queue, and the caller's handle on it: dropped only while it is still queued. */
export function pendingWrite(
  file: string,
  data: Buffer,
  digest?: string,
): { pending: PendingWrite; handle: QueuedWrite } {
  let pending!: PendingWrite;
  const done = new Promise<void>((resolve, reject) => {
    pending = { file, data, digest, state: 'queued', resolve, reject };
  });
  const drop = () => {
    if (pending.state !== 'queued') return pending.state === 'dropped';
    if (pending.digest !== undefined && blobDigest(pending.data) !== pending.digest) {
      // Never checked where it would have been written: a body that does not match fails its
      // write all the same, and the run is applied again carefully (which reports the op).
      pending.state = 'started';
      pending.data = EMPTY;
      pending.reject(digestMismatch(file, pending.digest));
      return true;
    }
    pending.state = 'dropped';
    // The bytes are not kept: the body is a view of the reader's window.
    pending.data = EMPTY;
    pending.resolve();
    return true;
  };
  return { pending, handle: { done, drop } };
}

/** The error of a write whose bytes do not have the digest logged with them. */
export function digestMismatch(file: string, digest: string): NodeJS.ErrnoException {
  const error = new Error(
    `${file}: the logged body does not match digest ${digest}`,
  ) as NodeJS.ErrnoException;
  error.code = 'EDIGEST';
  return error;
}

/**
 * How many blob files a replay writes at once, in all and in one folder. Locally a write is three
 * calls in libuv's pool (open, write, close), the pool has four threads, and the redo reader's
 * reads wait in the same pool: with every blob of a transaction handed over at once (about a
 * thousand), a read waited behind them and the players went without ops. Creating a file holds
 * its folder's lock in the kernel for the whole allocation of the inode (on this machine's ext4,
 * without a journal, a scan past every inode freed in the last minute or more, such as the
 * files a restore just removed), so
 * files of one folder are made one after another however many are asked for at once, and more
 * only spin: a mailbox's blobs are all in one folder, so writes are spread over mailboxes. Over
 * SSH a write is a command on its own channel, and the transport limits those itself.
 */
const LOCAL = { total: 4, perFolder: 2 };
const REMOTE = { total: 8, perFolder: 8 };

/**
 * The blob files of a replay, written a few at a time while the ops after them are applied: a
 * transaction's blobs are then mostly written by the time it commits (they must be in place
 * before it does), instead of all starting at its commit. Each folder's files are written in the
 * order they were handed over, the folders that waited longest first. A write not begun yet can
 * be dropped, when the run deletes the message again.
 */
export class BlobWrites {
  /** Writes not begun, by folder, the folder first queued first. */
  private readonly waiting = new Map<string, PendingWrite[]>();
  private readonly writing = new Map<string, number>();
  private running = 0;
  private readonly limit: { total: number; perFolder: number };

  constructor(private readonly files: Pick<ServerFiles, 'local' | 'writeFile'>) {
    this.limit = files.local ? LOCAL : REMOTE;
  }

  write(file: string, data: Buffer, digest?: string): QueuedWrite {
    const { pending, handle } = pendingWrite(file, data, digest);
    if (digest !== undefined && blobDigest(data) !== digest) {
      pending.state = 'started';
      pending.reject(digestMismatch(file, digest));
      return handle;
    }
    const folder = path.dirname(file);
    const queue = this.waiting.get(folder);
    if (queue) queue.push(pending);
    else this.waiting.set(folder, [pending]);
    this.pump();
    return handle;
  }

  private pump(): void {
    while (this.running < this.limit.total) {
      const next = this.next();
      if (!next) return;
      const { folder, pending } = next;
      pending.state = 'started';
      this.running++;
      this.writing.set(folder, (this.writing.get(folder) ?? 0) + 1);
      this.files
        .writeFile(pending.file, pending.data)
        .then(pending.resolve, pending.reject)
        .finally(() => {
          this.running--;
          this.writing.set(folder, this.writing.get(folder)! - 1);
          this.pump();
        });
    }
  }

  /** The next write to begin: the first not dropped of the first folder with room. */
  private next(): { folder: string; pending: PendingWrite } | null {
    for (const [folder, queue] of this.waiting) {
      if ((this.writing.get(folder) ?? 0) >= this.limit.perFolder) continue;
      let pending = queue.shift();
      while (pending?.state === 'dropped') pending = queue.shift();
      if (queue.length === 0) this.waiting.delete(folder);
      if (pending) return { folder, pending };
    }
    return null;
  }
}

export interface BlobWriter {
  /**
   * Queues a blob file; with `digest`, the bytes are checked against it where they are written
   * (on the blob thread: off the main thread) and a mismatch fails the write, never writing them.
   */
  write(file: string, data: Buffer, digest?: string): QueuedWrite;
}

/**
 * Where a replay's blob files are written: locally by the blob thread (blob-thread.ts), through
 * BlobWrites and the server's files once the thread failed or could not start, and over SSH
 * through BlobWrites (a command per file, run by the transport).
 */
export function blobWriter(
  files: Pick<ServerFiles, 'local' | 'writeFile'>,
  options: { thread?: boolean } = {},
): BlobWriter {
  const inProcess = new BlobWrites(files);
  const thread = files.local && options.thread !== false ? blobThread() : null;
  if (!thread) return inProcess;
  return { write: (file, data, digest) => (thread.usable ? thread : inProcess).write(file, data, digest) };
}
