import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  encodeOp,
  OP_CODES,
  RedoFormatError,
  RedoTruncatedError,
  trailingOf,
  type RedoOp,
} from '../../../src-main/engine/redolog';
import { header, sampleOps } from './sample-ops';

/** Decodes one whole record (section and trailing body) from a buffer holding just it. */
function decodeWhole(buf: Buffer): RedoOp {
  const { op, sectionBytes, trailingBytes } = decodeRecord(buf, 0);
  expect(sectionBytes + trailingBytes).toBe(buf.length);
  const trailing = trailingOf(op);
  if (trailing) trailing.data = buf.subarray(sectionBytes);
  return op;
}

const withoutOffsets = (op: RedoOp) =>
  JSON.parse(JSON.stringify(op, (k, v) => (k === 'offset' ? undefined : v)));

describe('redo op records', () => {
  it('pins the bytes of a DeleteItem record to the layout of RedoableOp and DeleteItem.java', () => {
    const op: RedoOp = {
      op: 'DeleteItem',
      header: header('DeleteItem'),
      ids: [300, 301],
      itemType: 5,
      constraint: null,
    };
    const expected = [
      '5a4d5245444f', // ZMREDO
      '0001002a', // version 1.42
      '00000015', // op code 21
      '0000019ab00970fb', // timestamp 1763890000123
      '0000019c', // change id 412
      'fffffff9', // change constraint -7
      '6922ac40' + '00000063', // transaction id: time, counter
      '0000000000000011', // mailbox id 17, a long since 1.26
      'ffffffff', // legacy single id: -1, the list follows
      '05', // item type: message
      '00', // no constraint
      '00000002' + '0000012c' + '0000012d', // ids
    ].join('');
    expect(encodeOp(op).toString('hex')).toBe(expected);
    expect(decodeWhole(Buffer.from(expected, 'hex'))).toEqual(op);
  });

  it('pins a CreateMessage with an inline body: strings are int32 length + UTF-8, the body comes last', () => {
    const [, , , , create] = sampleOps();
    const bytes = encodeOp(create!);
    const hex = bytes.toString('hex');
    // After the 46-byte header: rcptEmail "user1@example.com" as length 17 then bytes.
    expect(hex.slice(92, 92 + 8)).toBe('00000011');
    expect(bytes.subarray(50, 67).toString()).toBe('user1@example.com');
    const body =
      create!.op === 'CreateMessage' && create!.body.kind === 'inline' ? create!.body.data! : Buffer.alloc(0);
    expect(bytes.subarray(bytes.length - body.length).equals(body)).toBe(true);
    // Body type 1 (inline) and the int32 body length come right before the body.
    expect(bytes.readInt8(bytes.length - body.length - 5)).toBe(1);
    expect(bytes.readInt32BE(bytes.length - body.length - 4)).toBe(body.length);
  });

  it('round-trips every decoded op at the current version', () => {
    for (const op of sampleOps())
      expect(withoutOffsets(decodeWhole(encodeOp(op))), op.op).toEqual(withoutOffsets(op));
  });

  it('reads older versions with the fields they had, and writes them back byte for byte', () => {
    for (const minor of [0, 4, 16, 19, 25, 27, 32, 33, 37, 39, 40, 41]) {
      for (const op of sampleOps({ major: 1, minor })) {
        if (
          minor < 33 &&
          (op.op === 'SetItemTags' || op.op === 'AlterItemTag' || op.op === 'CreateMessage')
        ) {
          // Before 1.33 tags were ids and bitmasks: encode those instead of names.
          if (op.op === 'SetItemTags') Object.assign(op, { tags: null, tagBitmask: 0x30n });
          if (op.op === 'AlterItemTag') Object.assign(op, { tag: null, tagId: 65 });
          if (op.op === 'CreateMessage') Object.assign(op, { tags: null, tagIds: '64,65' });
        }
        // Colours were one byte before 1.27.
        if (minor < 27 && op.op === 'CreateFolder') op.color = 3;
        const bytes = encodeOp(op);
        const decoded = decodeWhole(bytes);
        expect(encodeOp(decoded).equals(bytes), `${op.op} at 1.${minor}`).toBe(true);
      }
    }
    const old = sampleOps({ major: 1, minor: 20 }).find((o) => o.op === 'CreateFolder')!;
    if (old.op === 'CreateFolder') old.color = 3;
    const folder = decodeWhole(encodeOp(old));
    // 1.20 had no uuid, date or custom metadata, and a one-byte colour.
    expect(folder).toMatchObject({ uuid: null, date: null, custom: null, color: 3 });
    const message = decodeWhole(
      encodeOp(sampleOps({ major: 1, minor: 3 }).find((o) => o.op === 'CreateMessage')!),
    );
    // Before 1.4 the received date was the op time.
    expect(message).toMatchObject({ receivedDate: 1_763_890_000_123, mergedConvIds: [] });
  });

  it('takes a 1.39 folder date in seconds and a pre-1.26 mailbox id as an int', () => {
    const op = sampleOps({ major: 1, minor: 39 }).find((o) => o.op === 'CreateFolder')!;
    const bytes = encodeOp(op);
    expect(decodeWhole(bytes)).toMatchObject({ date: 1_763_890_000_000 });
    const old = encodeOp({
      op: 'EmptyFolder',
      header: header('EmptyFolder', { version: { major: 1, minor: 25 } }),
      folderId: 3,
      subfolders: false,
    });
    expect(old.length).toBe(42 + 5);
  });

  it('distinguishes a record cut short from bytes that are not a record', () => {
    const bytes = encodeOp(sampleOps()[1]!);
    expect(() => decodeRecord(bytes, 0, bytes.length - 3)).toThrow(RedoTruncatedError);
    const noMarker = Buffer.from(bytes);
    noMarker[0] = 0x41;
    expect(() => decodeRecord(noMarker, 0)).toThrow(RedoFormatError);
    expect(() => decodeRecord(noMarker, 0)).not.toThrow(RedoTruncatedError);
    const future = Buffer.from(bytes);
    future.writeInt16BE(99, 8);
    expect(() => decodeRecord(future, 0)).toThrow(/1\.99 is newer/);
    const badCode = Buffer.from(bytes);
    badCode.writeInt32BE(2, 10);
    expect(() => decodeRecord(badCode, 0)).toThrow(/unknown op code 2/);
  });

  it('keeps an op it has no layout for as Unknown, ending at the next marker', () => {
    const setConfig = Buffer.from(encodeOp({ op: 'DeleteMailbox', header: header('DeleteMailbox') }));
    setConfig.writeInt32BE(OP_CODES.SetConfig!, 10);
    const decoded = decodeRecord(setConfig, 0);
    expect(decoded.untilNextMarker).toBe(true);
    expect(decoded.op).toMatchObject({ op: 'Unknown', name: 'SetConfig' });
  });
});
