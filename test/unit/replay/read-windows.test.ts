import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedoLogFileWriter, type CreateMessageOp, type RedoOp } from '../../../src-main/engine/redolog';
import { readRedoLogBatches } from '../../../src-main/engine/redolog/reader';
import { ReadWindows, WINDOW_BYTES } from '../../../src-main/engine/replay/read-windows';
import { header } from '../redolog/sample-ops';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-windows-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A message of `size` bytes whose every byte says which message it is (n mod 251). */
const bodyOf = (n: number, size: number) => Buffer.alloc(size, n % 251);

function message(n: number, size: number): CreateMessageOp {
  const body = bodyOf(n, size);
  return {
    op: 'CreateMessage',
    header: header('CreateMessage', { changeId: 1000 + n }),
    rcptEmail: '',
    receivedDate: 1_763_889_999_000,
    shared: false,
    digest: 'x',
    size,
    msgId: 300 + n,
    folderId: 2,
    convId: -1,
    convFirstMsgId: 0,
    mergedConvIds: [],
    calendarItemId: 0,
    calItemPartStat: null,
    flags: 0,
    noICal: false,
    tags: null,
    path: ':streamed:',
    extended: null,
    body: { kind: 'inline', length: size, data: body },
  };
}

/** A log of `count` messages of 40-120 KiB: a few dozen 1 MiB windows. */
async function writeLog(count: number): Promise<{ file: string; sizes: number[] }> {
  const file = path.join(dir, 'redo.log');
  const writer = await RedoLogFileWriter.create(file, {
    seq: 1,
    serverId: 's',
    createTime: 1_763_000_000_000,
  });
  const sizes = Array.from({ length: count }, (_, n) => 40_000 + ((n * 7919) % 80_000));
  sizes.forEach((size, n) => writer.append(message(n, size)));
  await writer.close();
  return { file, sizes };
}

const bodyOfOp = (op: RedoOp) =>
  op.op === 'CreateMessage' && op.body.kind === 'inline' ? op.body.data : undefined;

describe('replay read windows', () => {
  it('reuses a window once the reader moved past it and its bodies were let go of, and never before', async () => {
    const { file, sizes } = await writeLog(600);
    const windows = new ReadWindows();
    const source = windows.source(file);
    // Every fiftieth message is kept (not let go of): its bytes must stay as read while windows are reused.
    const kept: Array<{ n: number; op: RedoOp }> = [];
    let n = 0;
    for await (const batch of readRedoLogBatches(file, { withBodies: true, window: windows.allocate })) {
      for (const event of batch) {
        if (event.kind !== 'op') continue;
        windows.track(event.op, source);
        const body = bodyOfOp(event.op)!;
        expect(body.equals(bodyOf(n, sizes[n]!))).toBe(true);
        if (n % 50 === 0) kept.push({ n, op: event.op });
        else windows.release(event.op);
        n++;
      }
      windows.batchDone();
    }
    expect(n).toBe(600);
    const logBytes = fs.statSync(file).size;
    expect(logBytes).toBeGreaterThan(30 * WINDOW_BYTES);
    // Windows were reused (without it, one new window per MiB read) ...
    expect(windows.reused).toBeGreaterThan(0);
    expect(windows.allocated + windows.reused).toBeGreaterThanOrEqual(Math.floor(logBytes / WINDOW_BYTES));
    // ... and none that a kept body views: every kept body is still the bytes it was.
    for (const { n: k, op } of kept) expect(bodyOfOp(op)!.equals(bodyOf(k, sizes[k]!))).toBe(true);
    // A body let go of is gone from its op.
    await windows.close();
  });

  it('keeps every window while the bodies are held, as the reader did before', async () => {
    const { file } = await writeLog(200);
    const windows = new ReadWindows();
    const source = windows.source(file);
    for await (const batch of readRedoLogBatches(file, { withBodies: true, window: windows.allocate })) {
      for (const event of batch) if (event.kind === 'op') windows.track(event.op, source);
      windows.batchDone();
    }
    expect(windows.reused).toBe(0);
    await windows.close();
  });

  it('reads a body let go of back from its log for a careful retry', async () => {
    const { file, sizes } = await writeLog(60);
    const windows = new ReadWindows();
    const source = windows.source(file);
    const ops: RedoOp[] = [];
    for await (const batch of readRedoLogBatches(file, { withBodies: true, window: windows.allocate })) {
      for (const event of batch) {
        if (event.kind !== 'op') continue;
        windows.track(event.op, source);
        ops.push(event.op);
      }
      windows.batchDone();
    }
    for (const op of ops) windows.release(op);
    expect(ops.every((op) => bodyOfOp(op) === undefined)).toBe(true);
    // Let go of twice: no effect.
    windows.release(ops[0]!);
    await windows.reload(ops);
    ops.forEach((op, n) => expect(bodyOfOp(op)!.equals(bodyOf(n, sizes[n]!))).toBe(true));
    // Read back once more: a reloaded body is no longer let go of (it is not a view of a window).
    windows.release(ops[1]!);
    expect(bodyOfOp(ops[1]!)!.equals(bodyOf(1, sizes[1]!))).toBe(true);
    await windows.close();
  });

  it('reads bodies back from the live log even once a rollover renamed it', async () => {
    const { file, sizes } = await writeLog(20);
    const windows = new ReadWindows();
    const source = windows.source(file, true);
    const ops: RedoOp[] = [];
    for await (const batch of readRedoLogBatches(file, { withBodies: true, window: windows.allocate })) {
      for (const event of batch)
        if (event.kind === 'op') {
          windows.track(event.op, source);
          ops.push(event.op);
        }
      windows.batchDone();
    }
    for (const op of ops) windows.release(op);
    fs.renameSync(file, path.join(dir, 'redo-archived.log'));
    await windows.reload(ops);
    ops.forEach((op, n) => expect(bodyOfOp(op)!.equals(bodyOf(n, sizes[n]!))).toBe(true));
    await windows.close();
  });
});
