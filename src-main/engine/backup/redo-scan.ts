import fs from 'node:fs';
import { readRedoLog } from '../redolog/reader';

/**
 * What a copied redo log holds, read back from the target: its header against its records.
 * A log whose header and content disagree (another sequence than its name, still marked open,
 * damage or a cut-off record) is reported, never trusted silently.
 */
export interface RedoLogScan {
  seq: number;
  ops: number;
  /** Op times from the records (ms); null for a log without ops. */
  firstOpMs: number | null;
  lastOpMs: number | null;
  problems: string[];
}

export async function scanRedoLog(file: string, expectedSeq: number): Promise<RedoLogScan> {
  const scan: RedoLogScan = { seq: -1, ops: 0, firstOpMs: null, lastOpMs: null, problems: [] };
  let header: { seq: number; open: boolean; fileSize: number } | undefined;
  try {
    for await (const event of readRedoLog(file)) {
      if (event.kind === 'header') {
        header = event.header;
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
  } catch (error) {
    // A header that is not one (cut, zeroed, another file) is damage to report, not a crash.
    scan.problems.push((error as Error).message);
    return scan;
  }
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
  const size = (await fs.promises.stat(file)).size;
  if (!header.open && header.fileSize > size)
    scan.problems.push(`is cut short: its header says ${header.fileSize} bytes, the file has ${size}`);
  // The header's op times are those of the first and last op *written*, and ops are written at
  // commit in another order than their timestamps (taken when each op began): records may lie
  // outside them, so they are not compared. Sequence, state and structure are.
  return scan;
}
