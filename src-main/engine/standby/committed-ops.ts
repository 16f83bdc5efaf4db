import { readRedoLog, txnKey } from '../redolog';
import type { RedoLogFile } from '../replay/log-files';

/**
 * Committed ops in the standby's redo logs, read before replay for two things the replay
 * report does not give: transactions open at the mysql snapshot (prepared before its time,
 * committed after it: the dump may or may not hold them, so replay starts at the earliest such
 * prepare, and the replay engine's change-id check skips whatever the dump already had) and
 * what each mailbox has to replay.
 */
export interface CommittedOp {
  mailboxId: number;
  changeId: number;
  op: string;
  preparedAt: number;
  committedAt: number;
}

export interface CommittedOps {
  ops: CommittedOp[];
  firstPreparedAt: number | null;
  lastCommittedAt: number | null;
}

export async function readCommittedOps(logs: RedoLogFile[]): Promise<CommittedOps> {
  const pending = new Map<string, { mailboxId: number; changeId: number; op: string; at: number }>();
  const ops: CommittedOp[] = [];
  let first: number | null = null;
  for (const log of logs)
    for await (const event of readRedoLog(log.path)) {
      if (event.kind !== 'op') continue;
      const { op } = event;
      const key = txnKey(op.header.txnId);
      if (op.op === 'Checkpoint') continue;
      if (op.op === 'AbortTxn') pending.delete(key);
      else if (op.op === 'CommitTxn') {
        const started = pending.get(key);
        pending.delete(key);
        if (started && started.mailboxId > 0)
          ops.push({
            mailboxId: started.mailboxId,
            changeId: started.changeId,
            op: started.op,
            preparedAt: started.at,
            committedAt: op.header.timestamp,
          });
      } else {
        pending.set(key, {
          mailboxId: op.header.mailboxId,
          changeId: op.header.changeId,
          op: op.op === 'Unknown' ? op.name : op.op,
          at: op.header.timestamp,
        });
        first = first === null ? op.header.timestamp : Math.min(first, op.header.timestamp);
      }
    }
  const last = ops.reduce<number | null>(
    (m, o) => (m === null ? o.committedAt : Math.max(m, o.committedAt)),
    null,
  );
  return { ops, firstPreparedAt: first, lastCommittedAt: last };
}

/** The earliest prepare time of an op committed at or after `fromTime` (never later than it). */
export function widenForOpenTransactions(
  ops: CommittedOp[],
  fromTime: number,
): { fromTime: number; open: number } {
  let from = fromTime;
  let open = 0;
  for (const o of ops)
    if (o.preparedAt < fromTime && o.committedAt >= fromTime) {
      open++;
      from = Math.min(from, o.preparedAt);
    }
  return { fromTime: from, open };
}
