import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

const CHUNK = 256 * 1024;

/**
 * Exactly `size` bytes of an open file, then the handle is closed. A file that grows while read
 * (a log) yields the size it had when opened, as tar does over SSH; one that shrinks errors,
 * because its content would be incomplete.
 */
export function exactFileStream(handle: FileHandle, size: number, onShort: (got: number) => Error): Readable {
  let position = 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      const want = Math.min(CHUNK, size - position);
      if (want <= 0) {
        void close().then(() => this.push(null));
        return;
      }
      handle.read(Buffer.allocUnsafe(want), 0, want, position).then(
        ({ bytesRead, buffer }) => {
          if (bytesRead === 0) {
            this.destroy(onShort(position));
            return;
          }
          position += bytesRead;
          this.push(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      close().then(() => callback(error), callback);
    },
  });
}
