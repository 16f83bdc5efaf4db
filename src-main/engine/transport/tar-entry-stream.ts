import { Readable } from 'node:stream';
import type { Extract } from 'tar-stream';

/** One entry of a tar-stream archive: a streamx Readable, whose API resembles Node's. */
export type TarEntry = Extract extends AsyncIterable<infer Entry> ? Entry : never;

/**
 * A tar entry's content as a Node Readable, with backpressure passed through to the SSH channel.
 * tar-stream's entries are streamx streams: close to Node's but not the same (destroying one
 * aborts the whole archive). Destroying this wrapper instead only discards the rest of the entry,
 * so the next file still arrives; an error of the archive (connection lost) errors the wrapper.
 */
export function nodeReadableOf(source: TarEntry, highWaterMark = 256 * 1024): Readable {
  const onData = (chunk: unknown): void => {
    if (!out.push(chunk)) source.pause();
  };
  const out: Readable = new Readable({
    highWaterMark,
    read() {
      source.resume();
    },
    destroy(error, callback) {
      source.removeListener('data', onData);
      source.resume();
      callback(error);
    },
  });
  source.on('data', onData);
  source.on('end', () => out.push(null));
  source.on('error', (error: Error) => out.destroy(error));
  return out;
}
