import { RedoDataReader, RedoDataWriter } from './data-io';
import { RedoFormatError } from './file-header';
import { DECODED_OPS, decodeBody } from './op-bodies';
import { encodeBody } from './op-encoders';
import { opName } from './op-codes';
import {
  trailingOf,
  versionAtLeast,
  versionNewerThanCurrent,
  type RedoOp,
  type RedoRecordHeader,
} from './ops';

/**
 * One op record (RedoableOp.serializeHeader + serializeData + getAdditionalDataStream): the marker
 * "ZMREDO", version, op code, time, change id and constraint, transaction id, mailbox id (a long
 * from 1.26 on), the op's data, then any trailing body. No length prefix and no checksum: the
 * only way to the next record is to understand this one.
 */
export const RECORD_MARKER = Buffer.from('ZMREDO', 'ascii');
export const RECORD_HEADER_BYTES = 46;

export function encodeRecord(op: RedoOp): Buffer[] {
  const h = op.header;
  const w = new RedoDataWriter();
  w.bytes(RECORD_MARKER).short(h.version.major).short(h.version.minor).int(h.opCode);
  w.long(h.timestamp).int(h.changeId).int(h.changeConstraint).int(h.txnId.time).int(h.txnId.counter);
  if (versionAtLeast(h.version, 1, 26)) w.long(h.mailboxId);
  else w.int(h.mailboxId);
  const trailing = encodeBody(op, w);
  return trailing ? [w.toBuffer(), trailing] : [w.toBuffer()];
}

export function encodeOp(op: RedoOp): Buffer {
  return Buffer.concat(encodeRecord(op));
}

export interface DecodedRecord {
  op: RedoOp;
  /** Bytes of header and data section; a trailing body follows them. */
  sectionBytes: number;
  trailingBytes: number;
  /** The op's layout is unknown here: its record runs to the next marker. */
  untilNextMarker: boolean;
}

/**
 * Decodes the record at `pos` up to its trailing body. Throws RedoTruncatedError when `buf` ends
 * inside the record, RedoFormatError when the bytes are not a record.
 */
export function decodeRecord(buf: Buffer, pos: number, end = buf.length): DecodedRecord {
  const r = new RedoDataReader(buf, pos, end);
  if (!r.bytes(RECORD_MARKER.length).equals(RECORD_MARKER))
    throw new RedoFormatError('no ZMREDO record marker');
  const version = { major: r.short(), minor: r.short() };
  if (versionNewerThanCurrent(version))
    throw new RedoFormatError(
      `record version ${version.major}.${version.minor} is newer than this reader knows`,
    );
  const opCode = r.int();
  const name = opName(opCode);
  if (name === undefined) throw new RedoFormatError(`unknown op code ${opCode}`);
  const timestamp = r.long();
  const changeId = r.int();
  const changeConstraint = r.int();
  const txnId = { time: r.int(), counter: r.int() };
  const mailboxId = versionAtLeast(version, 1, 26) ? r.long() : r.int();
  const header: RedoRecordHeader = {
    version,
    opCode,
    timestamp,
    changeId,
    changeConstraint,
    txnId,
    mailboxId,
  };
  if (!DECODED_OPS.has(name)) {
    return {
      op: { op: 'Unknown', header, name, raw: Buffer.alloc(0) },
      sectionBytes: r.pos - pos,
      trailingBytes: 0,
      untilNextMarker: true,
    };
  }
  const op = decodeBody(name, header, r);
  return {
    op,
    sectionBytes: r.pos - pos,
    trailingBytes: trailingOf(op)?.length ?? 0,
    untilNextMarker: false,
  };
}
