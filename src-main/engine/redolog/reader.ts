import fs from 'node:fs/promises';
import { RedoTruncatedError } from './data-io';
import { decodeFileHeader, FILE_HEADER_SIZE, RedoFormatError, type RedoFileHeader } from './file-header';
import { trailingOf, type RedoOp } from './ops';
import { decodeRecord, RECORD_MARKER } from './record';

export type RedoLogEvent =
  | { kind: 'header'; header: RedoFileHeader }
  | { kind: 'op'; op: RedoOp; offset: number; length: number }
  /** Bytes that are not a record; reading resumed at the next "ZMREDO" marker, as Zimbra does. */
  | { kind: 'damage'; offset: number; length: number; reason: string }
  /** The file ends inside a record: a crash mid-write, or a live log caught mid-append. */
  | { kind: 'torn-tail'; offset: number; length: number };

export interface ReadRedoLogOptions {
  /** Load trailing bodies (inline messages, incoming blobs) and unknown ops' bytes into memory. */
  withBodies?: boolean;
  /**
   * Memory for each read window (`length` bytes, at most a window's size but for a record longer
   * than that); a new buffer each when absent. Replay passes windows it reuses once nothing it
   * was handed still views them (replay/read-windows.ts).
   */
  window?: (length: number) => Buffer;
}

const WINDOW = 1024 * 1024;
/**
 * Events handed over at most at once by readRedoLogBatches: a window can hold thousands of small
 * records, and events kept in a batch that long outlive the young generation (a batch per window
 * took 7 times the garbage collection of one event at a time).
 */
const BATCH_EVENTS = 64;

/** A read-ahead window over the file, so small records cost no system call each. */
class FileWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly fh: fs.FileHandle,
    readonly size: number,
    private readonly allocate: (length: number) => Buffer = Buffer.allocUnsafe,
  ) {}

  /** Whether [pos, pos + need) (clipped at the end of the file) is in the window: no read needed. */
  holds(pos: number, need: number): boolean {
    return pos >= this.start && pos + Math.min(need, this.size - pos) <= this.start + this.buf.length;
  }

  /**
   * Makes at least [pos, pos + need) (clipped at the end of the file) available, reading a whole
   * window ahead when it must read.
   */
  async load(pos: number, need: number): Promise<void> {
    if (this.holds(pos, need)) return;
    const length = Math.min(Math.max(need, WINDOW), this.size - pos);
    const buf = this.allocate(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, pos);
    this.buf = buf.subarray(0, bytesRead);
    this.start = pos;
  }

  /** The window's buffer, where pos is in it, and its end; pos must be held. */
  view(pos: number): { buf: Buffer; index: number; end: number } {
    return { buf: this.buf, index: pos - this.start, end: this.buf.length };
  }

  async at(pos: number, need: number): Promise<{ buf: Buffer; index: number; end: number }> {
    await this.load(pos, need);
    return this.view(pos);
  }

  /**
   * [pos, pos + length) (clipped at the end of the file) when it is a view of the window as it
   * is: a body smaller than the window is one (one read for many bodies, and the records after
   * it), never written to, as each read fills a new window. A body kept keeps its window.
   */
  heldBytes(pos: number, length: number): Buffer | null {
    if (length >= WINDOW || !this.holds(pos, length)) return null;
    const index = pos - this.start;
    return this.buf.subarray(index, Math.min(this.buf.length, index + length));
  }

  /** [pos, pos + length) (clipped at the end of the file). */
  async bytes(pos: number, length: number): Promise<Buffer> {
    if (length < WINDOW) {
      await this.load(pos, length);
      return this.heldBytes(pos, length)!;
    }
    const out = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(out, 0, length, pos);
    return out.subarray(0, bytesRead);
  }

  /** Offset of the next record marker at or after `from`, or the file size if there is none. */
  async nextMarker(from: number): Promise<number> {
    let pos = from;
    while (pos < this.size) {
      const { buf, index, end } = await this.at(pos, WINDOW);
      const found = buf.subarray(index, end).indexOf(RECORD_MARKER);
      if (found >= 0) return pos + found;
      if (pos + (end - index) >= this.size) break;
      // Overlap by one marker less a byte, so a marker across the window edge is still found.
      pos += end - index - (RECORD_MARKER.length - 1);
    }
    return this.size;
  }
}

/**
 * Streams a redo log file: its header, then each op in order, with damaged stretches and a torn
 * tail reported in place rather than thrown. Memory stays bounded by the largest op section
 * unless `withBodies` asks for message bodies.
 */
export async function* readRedoLog(
  path: string,
  options: ReadRedoLogOptions = {},
): AsyncGenerator<RedoLogEvent> {
  for await (const batch of readRedoLogBatches(path, options)) yield* batch;
}

/**
 * readRedoLog's events in order, a few dozen at a time: each is decoded from the read window it
 * is in without waiting, and the events so far are handed over before the next read. Replay
 * goes through every record of every log (17,500 for its 6,234-op bench) and hands most of them
 * on to a player without waiting either; a promise for each, and two more per record for the
 * window, was time its main thread had nothing else to show for.
 */
export async function* readRedoLogBatches(
  path: string,
  options: ReadRedoLogOptions = {},
): AsyncGenerator<RedoLogEvent[]> {
  const fh = await fs.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const file = new FileWindow(fh, size, options.window);
    const head = await file.bytes(0, FILE_HEADER_SIZE);
    let batch: RedoLogEvent[] = [{ kind: 'header', header: decodeFileHeader(head) }];
    let pos = FILE_HEADER_SIZE;
    // Bytes the record at pos needs in memory: grows when a record turns out longer than that.
    let need = 1;
    while (pos < size) {
      const held = file.holds(pos, need);
      if (batch.length >= BATCH_EVENTS || (!held && batch.length > 0)) {
        yield batch;
        batch = [];
      }
      if (!held) await file.load(pos, need);
      const { buf, index, end } = file.view(pos);
      let decoded;
      try {
        decoded = decodeRecord(buf, index, end);
      } catch (error) {
        if (error instanceof RedoTruncatedError) {
          if (pos + (end - index) >= size) {
            batch.push({ kind: 'torn-tail', offset: pos, length: size - pos });
            yield batch;
            return;
          }
          need = (end - index) * 2;
          continue;
        }
        if (!(error instanceof RedoFormatError)) throw error;
        const next = await file.nextMarker(pos + 1);
        batch.push({ kind: 'damage', offset: pos, length: next - pos, reason: error.message });
        pos = next;
        continue;
      }
      need = 1;
      const { op, sectionBytes, trailingBytes, untilNextMarker } = decoded;
      const bodyAt = pos + sectionBytes;
      let length = sectionBytes + trailingBytes;
      if (untilNextMarker && op.op === 'Unknown') {
        length = (await file.nextMarker(bodyAt)) - pos;
        if (options.withBodies) op.raw = await file.bytes(bodyAt, length - sectionBytes);
      } else {
        const trailing = trailingOf(op);
        if (trailing) {
          if (bodyAt + trailingBytes > size) {
            batch.push({ kind: 'torn-tail', offset: pos, length: size - pos });
            yield batch;
            return;
          }
          trailing.offset = bodyAt;
          if (options.withBodies)
            trailing.data =
              file.heldBytes(bodyAt, trailingBytes) ?? (await file.bytes(bodyAt, trailingBytes));
        }
      }
      batch.push({ kind: 'op', op, offset: pos, length });
      pos += length;
    }
    if (batch.length > 0) yield batch;
  } finally {
    await fh.close();
  }
}
