import type { RedoOp } from '../../../src-main/engine/redolog';
import {
  deleteItems,
  deliver,
  emptyFolder,
  mailboxSql,
  moveItems,
  SYSTEM_FOLDERS,
  txn,
  writeRedoLog,
  writeSession,
} from './hand-made-target';

/**
 * One account's history on a hand-made target (times from T0 = 2021-06-01 10:00 UTC):
 *
 *   full F1 at T0 (ann's snapshot T0+1 s; redo seq 4 live): Inbox 20 messages (300..319),
 *     Projects (257) 12 (320..331); last change id 100. bob in ERROR.
 *   log 4: a change already in the full (95); deliveries 400, 401 to Inbox at +2 min.
 *   log 5: EmptyFolder Projects at +10 min; DeleteItem [300] at +20 min; an EmptyFolder of Inbox
 *     that aborts; MoveItem of 313..317 to Trash begun at +30 min, still open at rollover.
 *   log 6: that MoveItem again (re-logged at rollover) and its commit; twelve DeleteItems of one
 *     message each (301..312), 2 s apart from +40 min; a delivery (402) at +50 min; a DeleteItem
 *     that never commits.
 *   incremental I1 at +60 min brings logs 4..6. Full F2 at +2 h (snapshot +2 h 1 s).
 */
export const T0 = Date.UTC(2021, 5, 1, 10, 0, 0);
export const MIN = 60_000;
export const ANN = {
  zimbraId: '11111111-2222-4333-8444-555555555555',
  email: 'ann@example.com',
  mailboxId: 7,
};
export const BOB = {
  zimbraId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  email: 'bob@example.com',
  mailboxId: 8,
};
export const PROJECTS = { id: 257, name: 'Projects', parent: 1 };

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

export function annSql(): string {
  return mailboxSql(
    ANN.mailboxId,
    [...SYSTEM_FOLDERS, PROJECTS],
    [
      ...range(300, 20).map((id) => ({ id, folder: 2, change: 50 })),
      ...range(320, 12).map((id) => ({ id, folder: 257, change: 60 })),
    ],
    { tombstoneSeq: 100 },
  );
}

export interface Scenario {
  full1: string;
  incr1: string;
  full2: string;
  logs: Awaited<ReturnType<typeof writeRedoLog>>[];
  emptyFolderAt: number;
  deleteBurstAt: number;
}

export async function writeScenario(target: string): Promise<Scenario> {
  const mb = ANN.mailboxId;
  const t = (
    body: Omit<RedoOp, 'header'>,
    changeId: number,
    atMs: number,
    commitMs: number | null | 'abort' = atMs + 5,
  ) => txn({ body, mailboxId: mb, changeId, atMs, commitMs });
  const flat = (...txns: Array<{ op: RedoOp; end: RedoOp | null }>) =>
    txns.flatMap((x) => (x.end ? [x.op, x.end] : [x.op]));

  const inFull = t(deliver(299, 2), 95, T0 - 5_000);
  const log4 = flat(
    inFull,
    t(deliver(400, 2), 101, T0 + 2 * MIN),
    t(deliver(401, 2), 102, T0 + 2 * MIN + 100),
  );
  const emptyFolderAt = T0 + 10 * MIN;
  const moving = t(moveItems(range(313, 5), 3), 106, T0 + 30 * MIN, T0 + 30 * MIN + 10);
  const log5 = [
    ...flat(
      t(emptyFolder(PROJECTS.id), 103, emptyFolderAt),
      t(deleteItems([300]), 104, T0 + 20 * MIN),
      t(emptyFolder(2), 105, T0 + 25 * MIN, 'abort'),
    ),
    moving.op,
  ];
  const deleteBurstAt = T0 + 40 * MIN;
  const log6 = [
    moving.op,
    moving.end!,
    ...flat(...range(0, 12).map((k) => t(deleteItems([301 + k]), 107 + k, deleteBurstAt + k * 2_000))),
    ...flat(t(deliver(402, 2), 119, T0 + 50 * MIN), t(deleteItems([318]), 120, T0 + 51 * MIN, null)),
  ];
  const logs = [
    await writeRedoLog(target, 4, log4),
    await writeRedoLog(target, 5, log5),
    await writeRedoLog(target, 6, log6),
  ];

  const full1 = writeSession(target, {
    type: 'full',
    startMs: T0,
    redoSeq: [4, 4],
    accounts: [
      { ...ANN, snapshotMs: T0 + 1_000, sql: annSql() },
      { ...BOB, status: 'ERROR', snapshotMs: T0 + 2_000 },
    ],
  });
  const incr1 = writeSession(target, {
    type: 'incremental',
    startMs: T0 + 60 * MIN,
    redoSeq: [4, 6],
    redoLogs: logs,
    accounts: [
      { ...ANN, mailboxId: null },
      { ...BOB, mailboxId: null },
    ],
  });
  const full2 = writeSession(target, {
    type: 'full',
    startMs: T0 + 120 * MIN,
    redoSeq: [7, 7],
    accounts: [{ ...ANN, snapshotMs: T0 + 120 * MIN + 1_000, sql: annSql() }],
  });
  return { full1, incr1, full2, logs, emptyFolderAt, deleteBurstAt };
}
