import path from 'node:path';
import type { ExecChannel } from './command-agent';
import { settleEntry, wholeEntry } from './entry-stream';
import { channelOutcome } from './ssh-exec';
import type { SshLink } from './ssh-link';
import { widenWindow } from './ssh-window';
import { TAR_ARGV } from './remote-commands';
import { splitTar, type ChunkSource } from './tar-split';
import { TransportError, type FileEntry } from './types';

export { TAR_ARGV };

/**
 * Paths go in the list whole (root joined as path.join does locally) rather than after -C: a
 * missing root then just means missing files, and "./" in front of relative ones keeps a name
 * like "-C" or "--remove-files" from being read as an option in the list.
 */
function listEntry(root: string, rel: string): string {
  const full = path.posix.join(root, rel);
  return full.startsWith('/') ? full : `./${full}`;
}

/** tar strips leading "/", "./" and "../" from member names; compare names the same way. */
function memberName(name: string): string {
  return name.replace(/^(\.{0,2}\/)+/, '');
}

/** stderr lines that only describe a skipped or growing file, or tar's own summary of them. */
const BENIGN_STDERR = [
  /: Cannot (stat|open): (No such file or directory|Not a directory)$/,
  /: file changed as we read it$/,
  /^tar: Removing leading `[^']*' from (member|hard link target) names$/,
  /^tar: Exiting with failure status due to previous errors$/,
];

export function tarProblems(code: number, stderr: string): string | null {
  const serious = stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !BENIGN_STDERR.some((pattern) => pattern.test(line)));
  if (serious.length > 0) return serious.join('; ');
  // 1: a file changed while read; 2: some files could not be read (all benign, checked above).
  return code === 0 || code === 1 || code === 2 ? null : `tar exited with status ${code}`;
}

/** Bytes of channel data held before the channel is paused (the SSH window then closes). */
const HIGH_WATER_BYTES = 4 << 20;

/**
 * The tar channel's receive window (ssh-window.ts): topped up every 4 MiB rather than every MiB.
 * A paused channel holds at most this much beyond HIGH_WATER_BYTES.
 */
const WINDOW_BYTES = 8 << 20;

/** Files up to this size are handed over whole (FileEntry.data); larger ones as a stream. */
const WHOLE_BYTES = 1 << 20;

/** The channel's data as a ChunkSource, paused while HIGH_WATER_BYTES wait to be parsed. */
class ChannelChunks implements ChunkSource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly channel: ExecChannel) {
    channel.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued > HIGH_WATER_BYTES) channel.pause();
      else widenWindow(channel, WINDOW_BYTES);
      this.wake?.();
    });
    channel.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  async next(): Promise<Buffer | null> {
    while (this.queue.length === 0) {
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    if (this.failure) throw this.failure;
    const chunk = this.queue.shift()!;
    this.queued -= chunk.length;
    if (this.queued <= HIGH_WATER_BYTES / 2) this.channel.resume();
    return chunk;
  }
}

export async function* readFilesOverSsh(
  link: SshLink,
  root: string,
  relPaths: string[],
): AsyncGenerator<FileEntry> {
  link.assertAlive();
  if (relPaths.length === 0) return;
  const wanted = relPaths.map((rel) => ({ rel, listed: listEntry(root, rel) }));
  if (wanted.some((w) => w.listed.includes('\0')))
    throw new TransportError(link.name, 'a file name contains a NUL byte', { code: 'INVALID_ARGUMENT' });
  const channel = await link.openBulkExec(TAR_ARGV);
  const input = Buffer.from(wanted.map((w) => `${w.listed}\0`).join(''));
  const outcome = channelOutcome(link, channel, 'tar', { input });
  outcome.catch(() => undefined); // awaited below; an early failure must not be "unhandled" meanwhile

  const chunks = new ChannelChunks(channel);
  const stopWatching = link.onDeath((error) => chunks.fail(error));

  let complete = false;
  let next = 0;
  try {
    for await (const file of splitTar(chunks, WHOLE_BYTES)) {
      const name = memberName(file.name);
      let index = next;
      while (index < wanted.length && memberName(wanted[index]!.listed) !== name) index++;
      if (index === wanted.length)
        throw new TransportError(link.name, `tar sent ${file.name}, which was not asked for`);
      next = index + 1;
      const rel = wanted[index]!.rel;
      if (file.content) yield { path: rel, size: file.size, mtimeMs: file.mtimeMs, content: file.content };
      else yield wholeEntry(rel, file.mtimeMs, file.parts!);
      // splitTar reads on only once this entry's stream is through (or was given up).
      if (file.content) await settleEntry(file.content);
    }
    const { code, stderr } = await outcome;
    const problems = tarProblems(code, stderr);
    if (problems) throw new TransportError(link.name, `cannot read files under ${root}: ${problems}`);
    complete = true;
  } catch (error) {
    throw link.failure(`cannot read files under ${root}`, error);
  } finally {
    stopWatching();
    if (!complete) {
      // The consumer stopped early or something failed: stop the remote tar and free the channel.
      // ssh2 emits a channel's 'close' (which frees its slot) only once its data has been read
      // to the end, so discard whatever is still in flight instead of leaving it paused.
      channel.removeAllListeners('data');
      channel.resume();
      channel.close();
    }
  }
}
