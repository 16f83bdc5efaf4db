import fs from 'node:fs';
import type { Readable } from 'node:stream';

/** Files up to this size are read whole; larger ones are streamed. */
export const SMALL_FILE = 1 << 20;

export interface SourceFile {
  stats: fs.Stats;
  /** The whole content, for a small file. */
  data?: Buffer;
  /** A stream of the content, for a large file (it closes the file when done). */
  stream?: Readable;
}

/**
 * Opens a file to archive: open, fstat, then one read for a small file or a stream for a large
 * one. Written with callbacks for measured speed: for 20,000 blobs of 20 KiB, FileHandle
 * promises took 0.9–1.5 s, these callbacks 0.6 s (stat + readFile separately: 1.1 s).
 */
export function openSourceFile(file: string): Promise<SourceFile> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      const fail = (error: Error): void => fs.close(fd, () => reject(error));
      fs.fstat(fd, (statError, stats) => {
        if (statError) return fail(statError);
        if (!stats.isFile()) return fail(new Error(`${file} is not a regular file`));
        if (stats.size > SMALL_FILE) {
          return resolve({
            stats,
            stream: fs.createReadStream('', { fd, autoClose: true, highWaterMark: 1 << 20 }),
          });
        }
        readWhole(fd, Buffer.allocUnsafe(stats.size), 0, (readError, data) => {
          fs.close(fd, (closeError) => {
            if (readError || closeError) return reject(readError ?? closeError);
            resolve({ stats, data });
          });
        });
      });
    });
  });
}

function readWhole(
  fd: number,
  buffer: Buffer,
  offset: number,
  done: (error: Error | null, data?: Buffer) => void,
): void {
  if (offset >= buffer.length) return done(null, buffer);
  fs.read(fd, buffer, offset, buffer.length - offset, offset, (error, bytesRead) => {
    if (error) return done(error);
    if (bytesRead === 0) return done(null, buffer.subarray(0, offset)); // the file shrank meanwhile
    readWhole(fd, buffer, offset + bytesRead, done);
  });
}
