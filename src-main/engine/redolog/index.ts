/** Zimbra's redo log format: file header, op records, streaming reader and writer. */
export * from './archive-names';
export * from './file-header';
export { RedoTruncatedError } from './data-io';
export { ITEM_TYPE, OP_CODES, opName } from './op-codes';
export * from './ops';
export { decodeRecord, encodeOp, encodeRecord, RECORD_HEADER_BYTES, RECORD_MARKER } from './record';
export { readRedoLog, type ReadRedoLogOptions, type RedoLogEvent } from './reader';
export { RedoLogFileWriter, type RedoLogFileOptions } from './writer';
