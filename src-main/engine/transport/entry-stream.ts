import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FileEntry } from './types';

/**
 * Called when the consumer of readFiles asks for the next entry. The files come one after the
 * other from a single source (one tar stream over SSH), so the previous content must be read to
 * its end before the next can start: whatever the consumer left unread is read and discarded.
 * An error of that content (connection lost, file shrank) ends the iteration with that error.
 */
export async function settleEntry(content: Readable): Promise<void> {
  if (!content.readableEnded && !content.destroyed) content.resume();
  try {
    await finished(content);
  } catch (error) {
    // The consumer destroyed the stream itself: it did not want the rest, which is fine.
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' && !content.errored) return;
    throw error;
  }
}

/**
 * A file held whole: `data` (and `parts`, the pieces it came in), with the stream made only if a
 * consumer asks for `content` (a backup takes the bytes; a Readable per 20 KiB blob was a
 * measured share of its CPU). `data` of a file in several pieces is joined on first use.
 */
export function wholeEntry(rel: string, mtimeMs: number, parts: readonly Buffer[]): FileEntry {
  let content: Readable | undefined;
  let data: Buffer | undefined = parts.length === 1 ? parts[0] : undefined;
  let size = 0;
  for (const part of parts) size += part.length;
  return {
    path: rel,
    size,
    mtimeMs,
    parts,
    get data() {
      return (data ??= Buffer.concat(parts));
    },
    get content() {
      return (content ??= Readable.from([this.data!]));
    },
  };
}
