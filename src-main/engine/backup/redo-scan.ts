import crypto from 'node:crypto';
import fs from 'node:fs';
import { RedoChunkScanner } from '../redolog/chunk-scanner';
import type { RedoLogEvent } from '../redolog/reader';
import type { FileRecord } from '../target/manifest';

/**
 * What a copied redo log holds, from its bytes as they are written or read back once: its
 * header against its records. A log whose header and content disagree (another sequence than
 * its name, still marked open, damage or a cut-off record) is reported, never trusted silently.
 */
export interface RedoLogScan {
  seq: number;
  ops: number;
  /** Op times from the records (ms); null for a log without ops. */
  firstOpMs: number | null;
  lastOpMs: number | null;
  problems: string[];
}

/**
 * Scans a log from its bytes pushed in order (the same chunks that are hashed or written), so
 * checking a copy costs no second read of it. A header that is not one (cut, zeroed, another
 * file) stops the scan and is reported; later bytes are then only counted.
 */
export class RedoLogChecker {
  private readonly scanner = new RedoChunkScanner();
  private header: { seq: number; open: boolean; fileSize: number } | undefined;
  private failure: string | null = null;
  private readonly scan: RedoLogScan = { seq: -1, ops: 0, firstOpMs: null, lastOpMs: null, problems: [] };

  push(chunk: Buffer): void {
    if (this.failure !== null) return;
    try {
      this.take(this.scanner.push(chunk));
    } catch (error) {
      this.failure = (error as Error).message;
    }
  }

  /** The scan of the whole log, `size` bytes long, named as sequence `expectedSeq`. */
  finish(expectedSeq: number, size: number): RedoLogScan {
    const scan = this.scan;
    if (this.failure === null) {
      try {
        this.take(this.scanner.end());
      } catch (error) {
        this.failure = (error as Error).message;
      }
    }
    if (this.failure !== null) {
      scan.problems.push(this.failure);
      return scan;
    }
    const header = this.header;
    if (!header) {
      scan.problems.push('has no redo log header');
      return scan;
    }
    if (header.seq !== expectedSeq)
      scan.problems.push(`its header says sequence ${header.seq}, its name ${expectedSeq}`);
    if (header.open) scan.problems.push('its header says it is still open (a live log, not an archived one)');
    // A closed log's header holds its final size; a file shorter than that was cut (records carry
    // no length or checksum, so a cut at a record boundary shows nowhere else). A stale size is
    // smaller, never larger, so only this direction is damage.
    if (!header.open && header.fileSize > size)
      scan.problems.push(`is cut short: its header says ${header.fileSize} bytes, the file has ${size}`);
    // The header's op times are those of the first and last op *written*, and ops are written at
    // commit in another order than their timestamps (taken when each op began): records may lie
    // outside them, so they are not compared. Sequence, state and structure are.
    return scan;
  }

  private take(events: RedoLogEvent[]): void {
    const scan = this.scan;
    for (const event of events) {
      if (event.kind === 'header') {
        this.header = event.header;
        scan.seq = event.header.seq;
      } else if (event.kind === 'op') {
        const t = event.op.header.timestamp;
        scan.ops++;
        scan.firstOpMs = scan.firstOpMs === null ? t : Math.min(scan.firstOpMs, t);
        scan.lastOpMs = scan.lastOpMs === null ? t : Math.max(scan.lastOpMs, t);
      } else if (event.kind === 'damage') {
        scan.problems.push(`${event.length} damaged bytes at offset ${event.offset} (${event.reason})`);
      } else {
        // An archived log is closed: a torn tail means it was cut short, not caught mid-append.
        scan.problems.push(`ends inside a record at offset ${event.offset}`);
      }
    }
  }
}

const READ_BYTES = 1024 * 1024;

/**
 * Reads a file once: its size and SHA-256, and the scan of the redo log it holds, from the same
 * buffers. For a copy the kernel made (no bytes passed through this process on the way in).
 */
export async function checkRedoFile(
  file: string,
  expectedSeq: number,
): Promise<{ record: FileRecord; scan: RedoLogScan }> {
  const hash = crypto.createHash('sha256');
  const { bytes, scan } = await readRedoFile(file, expectedSeq, (chunk) => hash.update(chunk));
  return { record: { bytes, sha256: hash.digest('hex') }, scan };
}

/** The scan of a redo log file (one read), for a copy whose checksum is checked elsewhere. */
export async function scanRedoLog(file: string, expectedSeq: number): Promise<RedoLogScan> {
  return (await readRedoFile(file, expectedSeq, () => undefined)).scan;
}

async function readRedoFile(
  file: string,
  expectedSeq: number,
  onChunk: (chunk: Buffer) => void,
): Promise<{ bytes: number; scan: RedoLogScan }> {
  const checker = new RedoLogChecker();
  let bytes = 0;
  const handle = await fs.promises.open(file, 'r');
  try {
    // One buffer for every read (the scanner keeps no view of it): a new megabyte per read made
    // the garbage collector a sixth of the check's time.
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, bytes);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      onChunk(chunk);
      checker.push(chunk);
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { bytes, scan: checker.finish(expectedSeq, bytes) };
}
