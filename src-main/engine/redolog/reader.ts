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
}

const WINDOW = 1024 * 1024;

/** A read-ahead window over the file, so small records cost no system call each. */
class FileWindow {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly fh: fs.FileHandle,
    readonly size: number,
  ) {}

  /**
   * Makes at least [pos, pos + need) (clipped at the end of the file) available, reading a whole
   * window ahead when it must read; returns the buffer and where pos is in it.
   */
  async at(pos: number, need: number): Promise<{ buf: Buffer; index: number; end: number }> {
    const needed = Math.min(need, this.size - pos);
    if (pos < this.start || pos + needed > this.start + this.buf.length) {
      const length = Math.min(Math.max(need, WINDOW), this.size - pos);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.fh.read(buf, 0, length, pos);
      this.buf = buf.subarray(0, bytesRead);
      this.start = pos;
    }
    return { buf: this.buf, index: pos - this.start, end: this.buf.length };
  }

  /** [pos, pos + length) (clipped at the end of the file). */
  async bytes(pos: number, length: number): Promise<Buffer> {
    // A body smaller than the window is a view of it (one read for many bodies, and the records
    // after it): never written to, as each read fills a new window. A body kept keeps its window.
    if (length < WINDOW) {
      const { buf, index, end } = await this.at(pos, length);
      return buf.subarray(index, Math.min(end, index + length));
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
  const fh = await fs.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const file = new FileWindow(fh, size);
    const head = await file.bytes(0, FILE_HEADER_SIZE);
    yield { kind: 'header', header: decodeFileHeader(head) };
    let pos = FILE_HEADER_SIZE;
    // Bytes the record at pos needs in memory: grows when a record turns out longer than that.
    let need = 1;
    while (pos < size) {
      const { buf, index, end } = await file.at(pos, need);
      let decoded;
      try {
        decoded = decodeRecord(buf, index, end);
      } catch (error) {
        if (error instanceof RedoTruncatedError) {
          if (pos + (end - index) >= size) {
            yield { kind: 'torn-tail', offset: pos, length: size - pos };
            return;
          }
          need = (end - index) * 2;
          continue;
        }
        if (!(error instanceof RedoFormatError)) throw error;
        const next = await file.nextMarker(pos + 1);
        yield { kind: 'damage', offset: pos, length: next - pos, reason: error.message };
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
            yield { kind: 'torn-tail', offset: pos, length: size - pos };
            return;
          }
          trailing.offset = bodyAt;
          if (options.withBodies) trailing.data = await file.bytes(bodyAt, trailingBytes);
        }
      }
      yield { kind: 'op', op, offset: pos, length };
      pos += length;
    }
  } finally {
    await fh.close();
  }
}
