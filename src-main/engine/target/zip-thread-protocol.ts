/**
 * The messages between ThreadedZipWriter (zip-thread.ts, the engine's side) and the thread that
 * builds the archives (zip-thread-worker.ts). JSON-like values and byte arrays only: they are
 * copied by postMessage. Every request carries `seq`; the thread answers each with the same
 * `seq`, in order, with a value or an error.
 */

/** A file a listing just described: its size and mtime are trusted if the read agrees. */
export interface ListedFile {
  /** Relative to the request's root, '/'-separated. */
  path: string;
  size: number;
  mtimeMs: number;
}

export type ZipThreadRequest =
  | { op: 'open'; seq: number; archive: number; path: string; forceZip64: boolean }
  | {
      op: 'addListed';
      seq: number;
      archive: number;
      root: string;
      /** Put before each file's path to make its entry name ('' or e.g. '1/'). */
      prefix: string;
      files: ListedFile[];
    }
  | {
      op: 'addBuffer';
      seq: number;
      archive: number;
      name: string;
      data: Uint8Array;
      mtimeMs: number;
      mode: number;
    }
  | { op: 'finish'; seq: number; archive: number }
  | { op: 'abort'; seq: number; archive: number };

/**
 * What addListed found for each file, in order: the bytes stored and the mtime recorded, or
 * `size: -1` for a file that was gone (or no longer a regular file) when its turn came.
 */
export interface ListedResult {
  sizes: number[];
  mtimes: number[];
}

export interface FinishedArchive {
  bytes: number;
  sha256: string;
  entries: number;
}

export interface ZipThreadError {
  message: string;
  /** errno code (ENOSPC, EACCES, …) when the failure was a system call's. */
  code?: string;
  /** The file being read when it failed, and the step ('open', 'read', 'stat'); a write failure has neither. */
  file?: string;
  step?: string;
  /** The thread's error class name (UnsafePathError for a bad entry name). */
  kind?: string;
}

export type ZipThreadReply =
  | { seq: number; ok: true; value?: ListedResult | FinishedArchive }
  | { seq: number; ok: false; error: ZipThreadError };
