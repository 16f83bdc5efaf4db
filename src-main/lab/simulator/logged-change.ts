import type { PoolConnection } from 'mysql2/promise';
import type { SimContext } from './context';
import type { SimMailbox } from './mailbox';
import type { PreparedOp } from './redo-manager';
import type { OpBody } from './redo-ops';

/**
 * How a change reaches the server, as mailboxd makes it: rows in one database transaction, inside
 * a redo record pair (the op prepared, then CommitTxn), a few of them aborted or abandoned by
 * chance as a crash mid-transaction would leave them.
 */

export async function transaction<T>(sim: SimContext, work: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await sim.db.getConnection();
  try {
    await c.beginTransaction();
    const result = await work(c);
    await c.commit();
    return result;
  } catch (error) {
    await c.rollback().catch(() => undefined);
    throw error;
  } finally {
    c.release();
  }
}

/** Runs a logged change: prepare record, the change, CommitTxn (or, by chance, abort/abandon). */
export async function logged<T>(
  sim: SimContext,
  m: SimMailbox,
  body: OpBody,
  changeId: number,
  apply: (at: number) => Promise<T>,
): Promise<T | undefined> {
  const prepared: PreparedOp = await sim.redo.prepare(body, m.mailboxId, changeId);
  if (sim.random.chance(sim.options.abortRate ?? 0.01)) {
    sim.stats.aborted++;
    m.lastChangeId--;
    await sim.redo.abort(prepared);
    return undefined;
  }
  if (sim.random.chance(sim.options.abandonRate ?? 0.005)) {
    sim.stats.abandoned++;
    m.lastChangeId--;
    sim.redo.abandon(prepared);
    return undefined;
  }
  // Mailbox.beginTransaction takes the op's timestamp: every date a change writes is this one.
  const result = await apply(Math.floor(prepared.op.header.timestamp / 1000));
  m.lastCommit = { ms: await sim.redo.commit(prepared), changeId };
  sim.stats.operations++;
  return result;
}
