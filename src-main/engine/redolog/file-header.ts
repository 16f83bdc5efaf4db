/**
 * The fixed 512-byte header of a Zimbra redo log file (FileHeader.java), big-endian:
 * magic "ZM_REDO"(7) · open flag(1) · file size(8) · sequence(8) · serverId length(1) + 127 bytes
 * · first op time(8) · last op time(8) · version major, minor (2+2) · create time(8) · padding.
 */
export const FILE_HEADER_SIZE = 512;
const MAGIC = 'ZM_REDO';
const SERVER_ID_BYTES = 127;

export interface RedoVersion {
  major: number;
  minor: number;
}

export interface RedoFileHeader {
  /** Set while mailboxd writes the file; its last op time may then be stale. */
  open: boolean;
  fileSize: number;
  seq: number;
  serverId: string;
  firstOpTime: number;
  lastOpTime: number;
  version: RedoVersion;
  createTime: number;
}

export class RedoFormatError extends Error {}

export function encodeFileHeader(h: RedoFileHeader): Buffer {
  const buf = Buffer.alloc(FILE_HEADER_SIZE);
  buf.write(MAGIC, 0, 'ascii');
  buf.writeUInt8(h.open ? 1 : 0, 7);
  buf.writeBigInt64BE(BigInt(h.fileSize), 8);
  buf.writeBigInt64BE(BigInt(h.seq), 16);
  const id = Buffer.from(h.serverId, 'utf8');
  if (id.length > SERVER_ID_BYTES)
    throw new RedoFormatError(`serverId longer than ${SERVER_ID_BYTES} bytes: ${h.serverId}`);
  buf.writeUInt8(id.length, 24);
  id.copy(buf, 25);
  buf.writeBigInt64BE(BigInt(h.firstOpTime), 152);
  buf.writeBigInt64BE(BigInt(h.lastOpTime), 160);
  buf.writeInt16BE(h.version.major, 168);
  buf.writeInt16BE(h.version.minor, 170);
  buf.writeBigInt64BE(BigInt(h.createTime), 172);
  return buf;
}

export function decodeFileHeader(buf: Buffer): RedoFileHeader {
  if (buf.length < FILE_HEADER_SIZE)
    throw new RedoFormatError(`redo log header is ${buf.length} bytes, not ${FILE_HEADER_SIZE}`);
  if (buf.toString('ascii', 0, 7) !== MAGIC)
    throw new RedoFormatError('not a Zimbra redo log (no ZM_REDO magic)');
  const idLength = Math.min(buf.readUInt8(24), SERVER_ID_BYTES);
  const major = buf.readInt16BE(168);
  const minor = buf.readInt16BE(170);
  return {
    open: buf.readUInt8(7) !== 0,
    fileSize: Number(buf.readBigInt64BE(8)),
    seq: Number(buf.readBigInt64BE(16)),
    serverId: buf.toString('utf8', 25, 25 + idLength),
    firstOpTime: Number(buf.readBigInt64BE(152)),
    lastOpTime: Number(buf.readBigInt64BE(160)),
    // Files written before versions were recorded say 0.0; Zimbra reads them as 1.0.
    version: major === 0 && minor === 0 ? { major: 1, minor: 0 } : { major, minor },
    createTime: Number(buf.readBigInt64BE(172)),
  };
}
