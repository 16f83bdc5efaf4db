import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { committedOps } from '../../../src-main/engine/plan/committed-ops';
import { deleteItems, deliver, tempTarget, txn, writeRedoLog } from './hand-made-target';

let target: string;
beforeEach(() => (target = tempTarget()));
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

const T = Date.UTC(2023, 4, 1);

describe('committed ops of one mailbox', () => {
  it('keeps exactly the committed ones, once, in commit order, within the change ids and time asked', async () => {
    const mine = (
      body: Parameters<typeof txn>[0]['body'],
      changeId: number,
      at: number,
      commit: number | null | 'abort',
    ) => txn({ body, mailboxId: 7, changeId, atMs: at, commitMs: commit });
    const a = mine(deliver(300, 2), 11, T, T + 50); // commits after b
    const b = mine(deliver(301, 2), 12, T + 10, T + 20);
    const aborted = mine(deleteItems([300]), 13, T + 30, 'abort');
    const open = mine(deleteItems([301]), 14, T + 40, null);
    const old = mine(deliver(299, 2), 5, T + 45, T + 46); // already in the full
    const late = mine(deliver(302, 2), 15, T + 60, T + 5_000);
    const carried = mine(deleteItems([301]), 16, T + 70, T + 200); // open at rollover, re-logged
    const other = txn({ body: deliver(900, 2), mailboxId: 8, changeId: 20, atMs: T + 5, commitMs: T + 6 });
    // A commit marker that carries no mailbox id is still matched by its transaction.
    const foreignEnd = { ...a.end!, header: { ...a.end!.header, mailboxId: 0 } };
    const log1 = await writeRedoLog(target, 1, [
      a.op,
      b.op,
      other.op,
      other.end!,
      b.end!,
      aborted.op,
      aborted.end!,
      open.op,
      old.op,
      old.end!,
      foreignEnd,
      late.op,
      carried.op,
    ]);
    const log2 = await writeRedoLog(target, 2, [carried.op, carried.end!, late.end!]);
    const logs = [log1, log2].map((l) => ({ ...l, file: path.join(target, 'redologs', l.name) }));
    const seen = [];
    for await (const c of committedOps(logs, 7, { afterChangeId: 10, untilMs: T + 1_000 }))
      seen.push([c.op.header.changeId, c.commitMs, c.seq]);
    expect(seen).toEqual([
      [12, T + 20, 1],
      [11, T + 50, 1],
      [16, T + 200, 2],
    ]);
  });
});
