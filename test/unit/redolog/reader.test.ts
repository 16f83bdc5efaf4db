import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeFileHeader,
  encodeOp,
  OP_CODES,
  readRedoLog,
  RedoLogFileWriter,
  type RedoLogEvent,
  type RedoOp,
} from '../../../src-main/engine/redolog';
import { header, sampleOps } from './sample-ops';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redo-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(file: string, withBodies = false): Promise<RedoLogEvent[]> {
  const events: RedoLogEvent[] = [];
  for await (const event of readRedoLog(file, { withBodies })) events.push(event);
  return events;
}

async function writeLog(file: string, ops: RedoOp[]): Promise<void> {
  const writer = await RedoLogFileWriter.create(file, {
    seq: 7,
    serverId: 'srv-1',
    createTime: 1_763_000_000_000,
  });
  for (const op of ops) writer.append(op);
  await writer.close();
}

const opsOf = (events: RedoLogEvent[]) => events.flatMap((e) => (e.kind === 'op' ? [e.op] : []));

describe('redo log files', () => {
  it('writes a header FileLogWriter would, and reads every op back with its offset', async () => {
    const file = path.join(dir, 'redo.log');
    const ops = sampleOps();
    await writeLog(file, ops);
    const head = decodeFileHeader(fs.readFileSync(file).subarray(0, 512));
    expect(head).toMatchObject({ open: false, seq: 7, serverId: 'srv-1', fileSize: fs.statSync(file).size });
    expect(head.firstOpTime).toBe(ops[0]!.header.timestamp);

    const events = await collect(file, true);
    expect(events[0]).toMatchObject({ kind: 'header', header: { seq: 7 } });
    const read = opsOf(events);
    expect(read.map((o) => o.op)).toEqual(ops.map((o) => o.op));
    // Offsets chain: each op starts where the previous one ended, from byte 512.
    let expectedOffset = 512;
    for (const event of events.slice(1)) {
      expect(event).toMatchObject({ kind: 'op', offset: expectedOffset });
      if (event.kind === 'op') expectedOffset += event.length;
    }
    expect(expectedOffset).toBe(fs.statSync(file).size);
    for (const [i, op] of read.entries()) expect(encodeOp(op).equals(encodeOp(ops[i]!))).toBe(true);
  });

  it('leaves bodies on disk unless asked, giving their offsets', async () => {
    const file = path.join(dir, 'redo.log');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    const create = sampleOps()[4]!;
    if (create.op !== 'CreateMessage') throw new Error('sample order changed');
    const op: RedoOp = {
      ...create,
      size: big.length,
      body: { kind: 'inline', length: big.length, data: big },
    };
    await writeLog(file, [op, sampleOps()[6]!]);
    const [, first, second] = await collect(file);
    expect(first).toMatchObject({
      kind: 'op',
      op: { op: 'CreateMessage', body: { kind: 'inline', length: big.length } },
    });
    const body =
      first?.kind === 'op' && first.op.op === 'CreateMessage' && first.op.body.kind === 'inline'
        ? first.op.body
        : undefined;
    expect(body?.data).toBeUndefined();
    const onDisk = fs.readFileSync(file).subarray(body!.offset!, body!.offset! + big.length);
    expect(onDisk.equals(big)).toBe(true);
    expect(second).toMatchObject({ kind: 'op', op: { op: 'AlterItemTag' } });
    const withBodies = opsOf(await collect(file, true))[0]!;
    expect(
      withBodies.op === 'CreateMessage' &&
        withBodies.body.kind === 'inline' &&
        withBodies.body.data?.equals(big),
    ).toBe(true);
  });

  it('reports a torn tail where the file ends inside a record, keeping the ops before it', async () => {
    const file = path.join(dir, 'redo.log');
    const ops = sampleOps().slice(0, 6);
    await writeLog(file, ops);
    const whole = fs.readFileSync(file);
    const full = whole.length;
    const lastLength = encodeOp(ops[5]!).length;
    for (const cut of [1, 10, lastLength - 1]) {
      fs.writeFileSync(file, whole.subarray(0, full - lastLength + cut));
      const events = await collect(file);
      expect(opsOf(events)).toHaveLength(5);
      expect(events.at(-1)).toEqual({ kind: 'torn-tail', offset: full - lastLength, length: cut });
    }
  });

  it('skips a damaged record to the next marker and reads on', async () => {
    const file = path.join(dir, 'redo.log');
    const ops = sampleOps();
    await writeLog(file, ops);
    const bytes = fs.readFileSync(file);
    const offsets = (await collect(file)).flatMap((e) => (e.kind === 'op' ? [e.offset] : []));
    // Break the marker of the third op and the string length inside the seventh.
    bytes.write('XX', offsets[2]!);
    bytes.writeInt32BE(-5, offsets[6]! + 46 + 5);
    fs.writeFileSync(file, bytes);
    const events = await collect(file);
    const damage = events.filter((e) => e.kind === 'damage');
    expect(damage).toEqual([
      {
        kind: 'damage',
        offset: offsets[2],
        length: offsets[3]! - offsets[2]!,
        reason: 'no ZMREDO record marker',
      },
      {
        kind: 'damage',
        offset: offsets[6],
        length: offsets[7]! - offsets[6]!,
        reason: 'bad string length -5',
      },
    ]);
    expect(opsOf(events).map((o) => o.op)).toEqual(ops.filter((_, i) => i !== 2 && i !== 6).map((o) => o.op));
  });

  it('finds the next marker past a damaged stretch longer than the read window', async () => {
    const file = path.join(dir, 'redo.log');
    await writeLog(file, [sampleOps()[2]!]);
    const garbage = Buffer.alloc(1024 * 1024 + 3, 'Z'); // "ZZZ…" never spells ZMREDO
    const tail = encodeOp(sampleOps()[9]!);
    fs.appendFileSync(file, Buffer.concat([garbage, tail]));
    const events = await collect(file);
    const damage = events.find((e) => e.kind === 'damage');
    expect(damage).toMatchObject({ length: garbage.length });
    expect(opsOf(events).map((o) => o.op)).toEqual(['CreateTag', 'RenameFolder']);
  });

  it('reads an op it cannot decode as Unknown and carries on after it', async () => {
    const file = path.join(dir, 'redo.log');
    await writeLog(file, [
      {
        op: 'Unknown',
        header: header('SetConfig'),
        name: 'SetConfig',
        raw: Buffer.from('\u0000\u0000\u0000\u0003abc'),
      },
      sampleOps()[2]!,
    ]);
    const read = opsOf(await collect(file, true));
    expect(read[0]).toMatchObject({
      op: 'Unknown',
      name: 'SetConfig',
      header: { opCode: OP_CODES.SetConfig },
    });
    expect(read[0]?.op === 'Unknown' && read[0].raw.toString('latin1')).toBe('\u0000\u0000\u0000\u0003abc');
    expect(read[1]).toMatchObject({ op: 'CreateTag', name: 'urgent' });
  });

  it('flags the header open while writing and streams a log larger than its window', async () => {
    const file = path.join(dir, 'redo.log');
    const writer = await RedoLogFileWriter.create(file, { seq: 0, serverId: 's' });
    const op = sampleOps()[6]!;
    for (let i = 0; i < 40_000; i++)
      writer.append({ ...op, header: { ...op.header, changeId: i } } as RedoOp);
    await writer.flush();
    expect(decodeFileHeader(fs.readFileSync(file).subarray(0, 512)).open).toBe(true);
    await writer.close();
    expect(fs.statSync(file).size).toBeGreaterThan(2 * 1024 * 1024);
    let count = 0;
    let last = -1;
    for await (const e of readRedoLog(file)) {
      if (e.kind !== 'op') continue;
      expect(e.op.header.changeId).toBe(last + 1);
      last = e.op.header.changeId;
      count++;
    }
    expect(count).toBe(40_000);
  });

  it('refuses a file that is not a redo log', async () => {
    const file = path.join(dir, 'not.log');
    fs.writeFileSync(file, 'hello');
    await expect(collect(file)).rejects.toThrow(/5 bytes, not 512/);
  });
});
