import { readRedoLog, txnKey, type RedoOp } from '../redolog';

/**
 * The ops of one mailbox that were committed, in commit order, read from consecutive redo logs.
 * Zimbra logs an op when it begins and a CommitTxn (same transaction id) when it is done; an op
 * with an AbortTxn, or with neither (mailboxd died), never happened. At rollover the open
 * transactions are logged again at the head of the next log, so an op can be met twice: the
 * transaction id makes it one.
 */
export interface CommittedOp {
  op: RedoOp;
  /** When its CommitTxn was logged: the op is part of the mailbox from then on. */
  commitMs: number;
  seq: number;
}

export interface CommittedOpsOptions {
  /** Skip ops whose change id is at or below this (already in the full backup). */
  afterChangeId?: number;
  /** Stop at ops committed after this instant. */
  untilMs?: number | null;
  /** Told about damaged stretches and cut-off records (the ops around them are still read). */
  onProblem?: (problem: string) => void;
}

export async function* committedOps(
  logs: ReadonlyArray<{ file: string; seq: number; name: string }>,
  mailboxId: number,
  options: CommittedOpsOptions = {},
): AsyncGenerator<CommittedOp> {
  const pending = new Map<string, RedoOp>();
  const done = new Set<string>();
  const after = options.afterChangeId ?? -Infinity;
  for (const log of logs) {
    for await (const event of readRedoLog(log.file)) {
      if (event.kind === 'damage')
        options.onProblem?.(`${log.name}: ${event.length} damaged bytes at offset ${event.offset}`);
      else if (event.kind === 'torn-tail')
        options.onProblem?.(`${log.name}: ends inside a record at offset ${event.offset}`);
      if (event.kind !== 'op') continue;
      const { op } = event;
      // End markers are matched by transaction id alone (only this mailbox's ops are pending),
      // whatever mailbox id they carry.
      const end = op.op === 'CommitTxn' || op.op === 'AbortTxn';
      if (!end && op.header.mailboxId !== mailboxId) continue;
      const key = txnKey(op.header.txnId);
      if (end && !pending.has(key)) continue;
      if (op.op === 'CommitTxn') {
        const begun = pending.get(key);
        if (!begun) continue;
        pending.delete(key);
        done.add(key);
        const commitMs = op.header.timestamp;
        if (options.untilMs != null && commitMs > options.untilMs) continue;
        // An op without a change id cannot be placed against the full by it: keep it.
        if (begun.header.changeId >= 0 && begun.header.changeId <= after) continue;
        yield { op: begun, commitMs, seq: log.seq };
      } else if (op.op === 'AbortTxn') pending.delete(key);
      else if (op.op !== 'Checkpoint' && !done.has(key) && !pending.has(key)) pending.set(key, op);
    }
  }
}
