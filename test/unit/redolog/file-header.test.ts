import { describe, expect, it } from 'vitest';
import { archiveFileName, parseArchiveFileName } from '../../../src-main/engine/redolog/archive-names';
import {
  decodeFileHeader,
  encodeFileHeader,
  RedoFormatError,
} from '../../../src-main/engine/redolog/file-header';

const header = {
  open: true,
  fileSize: 123456789012,
  seq: 42,
  serverId: 'c0ffee00-1111-2222-3333-444455556666',
  firstOpTime: 1_700_000_000_123,
  lastOpTime: 1_700_000_999_456,
  version: { major: 1, minor: 42 },
  createTime: 1_699_999_999_000,
};

describe('redo log file header', () => {
  it('is 512 bytes at Zimbra FileHeader offsets and round-trips', () => {
    const buf = encodeFileHeader(header);
    expect(buf.length).toBe(512);
    expect(buf.toString('ascii', 0, 7)).toBe('ZM_REDO');
    expect(buf[7]).toBe(1);
    expect(buf.readBigInt64BE(16)).toBe(42n);
    expect(buf[24]).toBe(36);
    expect(buf.readInt16BE(168)).toBe(1);
    expect(buf.readInt16BE(170)).toBe(42);
    expect(buf.subarray(180).every((b) => b === 0)).toBe(true);
    expect(decodeFileHeader(buf)).toEqual(header);
  });

  it('reads version 0.0 as 1.0 and rejects a file without the magic', () => {
    const buf = encodeFileHeader({ ...header, version: { major: 0, minor: 0 } });
    expect(decodeFileHeader(buf).version).toEqual({ major: 1, minor: 0 });
    expect(() => decodeFileHeader(Buffer.alloc(512))).toThrow(RedoFormatError);
    expect(() => decodeFileHeader(Buffer.alloc(100))).toThrow(/100 bytes/);
  });
});

describe('archive file names', () => {
  it('use the GMT rollover time to the millisecond and the sequence', () => {
    const t = Date.UTC(2021, 6, 12, 15, 59, 51, 123);
    expect(archiveFileName(t, 1234)).toBe('redo-20210712.155951.123-seq1234.log');
    expect(parseArchiveFileName('redo-20210712.155951.123-seq1234.log')).toEqual({
      rolloverTime: t,
      seq: 1234,
    });
    expect(parseArchiveFileName('~tmp-redo-20210712.155951.123-seq1.log')).toBeNull();
    expect(parseArchiveFileName('redo.log')).toBeNull();
  });
});
