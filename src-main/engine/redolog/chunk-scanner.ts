import { RedoTruncatedError } from './data-io';
import { decodeFileHeader, FILE_HEADER_SIZE, RedoFormatError } from './file-header';
import { trailingOf, type RedoOp } from './ops';
import type { RedoLogEvent } from './reader';
import { decodeRecord, RECORD_MARKER } from './record';

/** Bytes of the next chunk joined to a record cut by a chunk edge, before trying it again. */
const JOIN_BYTES = 64 * 1024;

type State =
  | { kind: 'header' }
  /** A record starts at bufferStart. */
  | { kind: 'record' }
  /** An op decoded up to its trailing body, which is skipped until `until`. */
  | { kind: 'body'; op: RedoOp; offset: number; until: number }
  /** Looking for the next marker from `from`: past damage at `offset`, or to end an Unknown op. */
  | { kind: 'marker'; offset: number; from: number; damage: string | null; op: RedoOp | null };

/**
 * readRedoLog's events (header, ops without bodies, damage, torn tail) from a log's bytes pushed
 * in order, in chunks of any size: to check a copy in the same pass that hashes it, rather than
 * reading it again. Holds only the record being decoded, never a body; trailing bodies are
 * skipped as they go by. A header that is not one throws RedoFormatError, as readRedoLog does.
 */
export class RedoChunkScanner {
  /** Unconsumed bytes, from file offset bufferStart; later chunks wait in `queued`. */
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;
  private queued: Buffer[] = [];
  private received = 0;
  private state: State = { kind: 'header' };
  private ended = false;

  /** Bytes pushed so far: the size of the log once it has all been pushed. */
  get size(): number {
    return this.received;
  }

  /** Takes the next bytes of the log (keeping no view of them); returns the events they complete. */
  push(chunk: Buffer): RedoLogEvent[] {
    if (this.ended) throw new Error('RedoChunkScanner: push after end');
    if (chunk.length === 0) return [];
    this.received += chunk.length;
    if (this.buffer.length === 0) this.buffer = chunk;
    else this.queued.push(chunk);
    const events: RedoLogEvent[] = [];
    this.drain(events);
    // Nothing kept may be a view of the caller's chunk: it may read the next bytes into it.
    if (this.buffer.buffer === chunk.buffer) this.buffer = Buffer.from(this.buffer);
    this.queued = this.queued.map((q) => (q.buffer === chunk.buffer ? Buffer.from(q) : q));
    return events;
  }

  /** The log ended: the events only its end decides (a torn tail, a last Unknown op or damage). */
  end(): RedoLogEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const events: RedoLogEvent[] = [];
    const s = this.state;
    if (s.kind === 'header') {
      // Shorter than a header: decodeFileHeader says so, in readRedoLog's words.
      decodeFileHeader(this.pending());
      return events;
    }
    if (s.kind === 'record') {
      const left = this.received - this.bufferStart;
      if (left > 0) events.push({ kind: 'torn-tail', offset: this.bufferStart, length: left });
    } else if (s.kind === 'body') {
      events.push({ kind: 'torn-tail', offset: s.offset, length: this.received - s.offset });
    } else if (s.op) {
      events.push({ kind: 'op', op: s.op, offset: s.offset, length: this.received - s.offset });
    } else {
      events.push({ kind: 'damage', offset: s.offset, length: this.received - s.offset, reason: s.damage! });
    }
    this.buffer = Buffer.alloc(0);
    this.queued = [];
    return events;
  }

  private drain(events: RedoLogEvent[]): void {
    for (;;) {
      const s = this.state;
      if (s.kind === 'header') {
        if (this.received < FILE_HEADER_SIZE) return;
        this.join(FILE_HEADER_SIZE);
        events.push({ kind: 'header', header: decodeFileHeader(this.buffer.subarray(0, FILE_HEADER_SIZE)) });
        this.consume(FILE_HEADER_SIZE);
        this.state = { kind: 'record' };
      } else if (s.kind === 'record') {
        if (!this.decodeNext()) return;
      } else if (s.kind === 'body') {
        const available = this.bufferStart + this.buffer.length;
        if (available < s.until) {
          this.consume(this.buffer.length);
          if (!this.next()) return;
          continue;
        }
        this.consume(s.until - this.bufferStart);
        events.push({ kind: 'op', op: s.op, offset: s.offset, length: s.until - s.offset });
        this.state = { kind: 'record' };
      } else {
        const found = this.buffer.indexOf(RECORD_MARKER, s.from - this.bufferStart);
        if (found < 0) {
          // Keep what could be the start of a marker cut by the chunk edge.
          const keepFrom = Math.max(
            s.from,
            this.bufferStart + this.buffer.length - (RECORD_MARKER.length - 1),
          );
          this.consume(keepFrom - this.bufferStart);
          s.from = keepFrom;
          if (!this.joinNext()) return;
          continue;
        }
        const at = this.bufferStart + found;
        if (s.op) events.push({ kind: 'op', op: s.op, offset: s.offset, length: at - s.offset });
        else events.push({ kind: 'damage', offset: s.offset, length: at - s.offset, reason: s.damage! });
        this.consume(found);
        this.state = { kind: 'record' };
      }
    }
  }

  /** Decodes the record at bufferStart; false when it needs bytes not pushed yet. */
  private decodeNext(): boolean {
    if (this.buffer.length === 0 && !this.next()) return false;
    const offset = this.bufferStart;
    let decoded;
    try {
      decoded = decodeRecord(this.buffer, 0);
    } catch (error) {
      if (error instanceof RedoTruncatedError) return this.joinNext();
      if (!(error instanceof RedoFormatError)) throw error;
      this.state = { kind: 'marker', offset, from: offset + 1, damage: error.message, op: null };
      return true;
    }
    const { op, sectionBytes, trailingBytes, untilNextMarker } = decoded;
    const bodyAt = offset + sectionBytes;
    this.consume(sectionBytes);
    if (untilNextMarker && op.op === 'Unknown') {
      this.state = { kind: 'marker', offset, from: bodyAt, damage: null, op };
      return true;
    }
    const trailing = trailingOf(op);
    if (trailing) trailing.offset = bodyAt;
    this.state = { kind: 'body', op, offset, until: bodyAt + trailingBytes };
    return true;
  }

  private consume(bytes: number): void {
    this.buffer = this.buffer.subarray(bytes);
    this.bufferStart += bytes;
  }

  /** Moves to the next queued chunk once the buffer is used up; false if there is none. */
  private next(): boolean {
    if (this.buffer.length > 0) return true;
    const chunk = this.queued.shift();
    if (!chunk) return false;
    this.buffer = chunk;
    return true;
  }

  /**
   * Joins more queued bytes to the buffer (a record or marker cut by a chunk edge): a slice of
   * the next chunk, so a small remainder does not copy a whole chunk; false if nothing is queued.
   */
  private joinNext(): boolean {
    const chunk = this.queued[0];
    if (!chunk) return false;
    const take = Math.min(chunk.length, Math.max(JOIN_BYTES, this.buffer.length));
    this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, take)]);
    if (take === chunk.length) this.queued.shift();
    else this.queued[0] = chunk.subarray(take);
    return true;
  }

  /** Makes the buffer hold at least `bytes` (all of them pushed already). */
  private join(bytes: number): void {
    while (this.buffer.length < bytes && this.joinNext());
  }

  private pending(): Buffer {
    return Buffer.concat([this.buffer, ...this.queued]);
  }
}
