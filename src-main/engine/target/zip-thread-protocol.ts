/**
 * The messages between ThreadedZipWriter (zip-thread.ts, the engine's side) and the thread that
 * builds the archives (zip-thread-worker.ts). JSON-like values and byte arrays only: they are
 * copied by postMessage, except addBuffers' and streamData's bytes, whose buffers are transferred
 * (and handed back). Every request carries `seq`; the thread answers each with the same `seq`,
 * in order, with a value or an error.
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
      /** Many small entries whose bytes lie one after another in `data` (transferred, not copied). */
      op: 'addBuffers';
      seq: number;
      archive: number;
      entries: BufferedEntry[];
      data: Uint8Array;
    }
  /** A large entry in parts: its start, any number of data parts, its end (nothing else between). */
  | { op: 'streamStart'; seq: number; archive: number; name: string; mtimeMs: number; mode: number }
  | { op: 'streamData'; seq: number; archive: number; data: Uint8Array }
  | { op: 'streamEnd'; seq: number; archive: number }
  | { op: 'finish'; seq: number; archive: number }
  | { op: 'abort'; seq: number; archive: number };

/** One entry of an addBuffers request: its bytes are `data.subarray(start, end)`. */
export interface BufferedEntry {
  name: string;
  mtimeMs: number;
  mode: number;
  start: number;
  end: number;
}

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
  /** `returned`: the request's transferred bytes, handed back for the next batch. */
  | { seq: number; ok: true; value?: ListedResult | FinishedArchive; returned?: Uint8Array }
  | { seq: number; ok: false; error: ZipThreadError };
