import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeOp,
  readRedoLog,
  RedoLogFileWriter,
  type RedoLogEvent,
  type RedoOp,
} from '../../../src-main/engine/redolog';
import { RedoChunkScanner } from '../../../src-main/engine/redolog/chunk-scanner';
import { header, sampleOps } from './sample-ops';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redo-chunks-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function writeLog(ops: RedoOp[]): Promise<Buffer> {
  const file = path.join(dir, `redo-${Math.random()}.log`);
  const writer = await RedoLogFileWriter.create(file, {
    seq: 7,
    serverId: 'srv-1',
    createTime: 1_763_000_000_000,
  });
  for (const op of ops) writer.append(op);
  await writer.close();
  return fs.readFileSync(file);
}

/** readRedoLog's events for these bytes (as a file), or its error message. */
async function fromFile(bytes: Buffer): Promise<RedoLogEvent[] | string> {
  const file = path.join(dir, 'as-file.log');
  fs.writeFileSync(file, bytes);
  const events: RedoLogEvent[] = [];
  try {
    for await (const event of readRedoLog(file)) events.push(event);
  } catch (error) {
    return (error as Error).message;
  }
  return events;
}

/** The scanner's events for the same bytes pushed in chunks of `size`, or its error message. */
function fromChunks(bytes: Buffer, size: number): RedoLogEvent[] | string {
  const scanner = new RedoChunkScanner();
  const events: RedoLogEvent[] = [];
  try {
    // One buffer for every chunk, scribbled over after each push: the scanner must keep no view.
    const reused = Buffer.alloc(Math.min(size, bytes.length));
    for (let at = 0; at < bytes.length; at += size) {
      const chunk = reused.subarray(0, bytes.copy(reused, 0, at, at + size));
      events.push(...scanner.push(chunk));
      reused.fill(0x5a);
    }
    events.push(...scanner.end());
  } catch (error) {
    return (error as Error).message;
  }
  expect(scanner.size).toBe(bytes.length);
  return events;
}

const CHUNK_SIZES = [1, 5, 6, 7, 46, 100, 4096, 65_537, 1 << 20, 1 << 30];

async function expectSameEvents(bytes: Buffer): Promise<RedoLogEvent[] | string> {
  const expected = await fromFile(bytes);
  // Byte-sized chunks only for small logs: millions of pushes would only slow the test.
  for (const size of CHUNK_SIZES.filter((s) => s > 7 || bytes.length < 256 * 1024))
    expect(fromChunks(bytes, size), `chunks of ${size}`).toEqual(expected);
  return expected;
}

const kinds = (events: RedoLogEvent[] | string) =>
  typeof events === 'string' ? events : events.map((e) => e.kind);

describe('RedoChunkScanner', () => {
  it('gives readRedoLog events for every op kind, whatever the chunk edges', async () => {
    const ops = sampleOps();
    const events = await expectSameEvents(await writeLog(ops));
    expect(kinds(events)).toEqual(['header', ...ops.map(() => 'op')]);
  });

  it('skips a body larger than a chunk and gives its offset', async () => {
    const create = sampleOps()[4]!;
    if (create.op !== 'CreateMessage') throw new Error('sample order changed');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    const op: RedoOp = {
      ...create,
      size: big.length,
      body: { kind: 'inline', length: big.length, data: big },
    };
    const events = await expectSameEvents(await writeLog([op, sampleOps()[6]!, op]));
    expect(kinds(events)).toEqual(['header', 'op', 'op', 'op']);
  });

  it('reports damage up to the next marker, also past a chunk edge and at the end', async () => {
    const ops = sampleOps();
    const bytes = await writeLog(ops);
    const offsets = ((await fromFile(bytes)) as RedoLogEvent[]).flatMap((e) =>
      e.kind === 'op' ? [e.offset] : [],
    );
    bytes.write('XX', offsets[2]!);
    bytes.writeInt32BE(-5, offsets[6]! + 46 + 5);
    bytes.write('XX', offsets.at(-1)!);
    const garbage = Buffer.alloc(1024 * 1024 + 3, 'Z');
    const events = await expectSameEvents(
      Buffer.concat([bytes, garbage, encodeOp(sampleOps()[9]!), garbage]),
    );
    expect(kinds(events)).toContain('damage');
    expect((events as RedoLogEvent[]).filter((e) => e.kind === 'damage')).toHaveLength(4);
  });

  it('ends an Unknown op at the next marker or at the end of the log', async () => {
    const unknown: RedoOp = {
      op: 'Unknown',
      header: header('SetConfig'),
      name: 'SetConfig',
      raw: Buffer.concat([Buffer.from('\u0000\u0000\u0000\u0003abc'), Buffer.alloc(200_000, 'q')]),
    };
    const events = await expectSameEvents(await writeLog([unknown, sampleOps()[2]!, unknown]));
    expect(kinds(events)).toEqual(['header', 'op', 'op', 'op']);
  });

  it('reports a torn tail inside a record section or inside a body', async () => {
    const create = sampleOps()[4]!;
    if (create.op !== 'CreateMessage') throw new Error('sample order changed');
    const body = Buffer.alloc(100_000, 'b');
    const op: RedoOp = {
      ...create,
      size: body.length,
      body: { kind: 'inline', length: body.length, data: body },
    };
    const whole = await writeLog([sampleOps()[2]!, op]);
    const last = encodeOp(op).length;
    for (const cut of [1, 10, 47, last - body.length + 5, last - 1]) {
      const events = await expectSameEvents(whole.subarray(0, whole.length - last + cut));
      expect(kinds(events)).toEqual(['header', 'op', 'torn-tail']);
    }
  });

  it('refuses what is not a redo log, as readRedoLog does', async () => {
    expect(await expectSameEvents(Buffer.from('hello'))).toMatch(/5 bytes, not 512/);
    expect(await expectSameEvents(Buffer.alloc(0))).toMatch(/0 bytes, not 512/);
    expect(await expectSameEvents(Buffer.alloc(4096, 1))).toMatch(/no ZM_REDO magic/);
    const headerOnly = (await writeLog([])).subarray(0, 512);
    expect(kinds(await expectSameEvents(headerOnly))).toEqual(['header']);
  });
});
