import type { Pool, PoolConnection } from 'mysql2/promise';
import { trailingOf, type RedoOp } from '../redolog';
import type { OpenBatch } from './apply-batch';

/**
 * One player (a PlaybackUtil thread): a bounded queue of ops, applied in order, a run of one
 * mailbox's consecutive ops at a time, in one transaction that goes on taking that mailbox's ops
 * as they are queued. The reader waits while the queue is full.
 */
export interface QueuedOp {
  box: number;
  op: RedoOp;
}

export interface PlayerHost {
  readonly db: Pool;
  /** Set once anything failed: players stop taking ops. */
  readonly failed: unknown;
  fail(error: unknown): void;
  open(c: PoolConnection, sourceId: number, first: RedoOp): Promise<OpenBatch>;
}

/**
 * How much of one mailbox's ops a transaction takes at most: every transaction ends with the
 * mailbox's checkpoints, an UPDATE of zimbra.mailbox that costs MariaDB far more than the ops'
 * own statements (apply-batch.ts), so runs go on past what the queue holds at once. The ops are
 * kept until the commit (a failed run is applied again carefully), their bodies with them.
 */
const TXN_OPS = 2000;
const TXN_BODY_BYTES = 32 * 1024 * 1024;
/**
 * Ops taken from the queue are applied this many at a time (fewer when the transaction ends):
 * each application reads the items its ops name that the run does not know yet (two SELECTs:
 * bulk-state.ts), so applying each half queue as it was taken cost the bench about 45 SELECTs a
 * mailbox. The ops are kept until the commit whatever the size of the applications, so this
 * holds nothing longer than before.
 */
const APPLY_OPS = 500;

/**
 * What the players share: how many of them wait for one of the pool's connections. A player
 * keeps its transaction open while its queue is empty only when none does: with fewer
 * connections than players, the reader may be waiting for the queue of a player that waits for
 * the connection held open.
 */
export class PlayerGroup {
  readonly players: Player[] = [];
  wanting = 0;

  /** Every player waiting for ops with a transaction open looks again whether it may go on waiting. */
  nudge(): void {
    for (const p of this.players) p.nudge();
  }
}

export class Player {
  private queue: QueuedOp[] = [];
  private wake: (() => void) | null = null;
  private space: Array<() => void> = [];
  private closed = false;
  readonly done: Promise<void>;

  constructor(
    private readonly host: PlayerHost,
    private readonly capacity: number,
    private readonly group: PlayerGroup,
  ) {
    group.players.push(this);
    this.done = this.loop();
  }

  /** Queues an op; a promise (to wait for) only when the queue is full. */
  push(item: QueuedOp): Promise<void> | undefined {
    if (this.queue.length >= this.capacity && !this.host.failed) return this.pushWhenRoom(item);
    this.queue.push(item);
    this.wake?.();
    return undefined;
  }

  private async pushWhenRoom(item: QueuedOp): Promise<void> {
    while (this.queue.length >= this.capacity && !this.host.failed)
      await new Promise<void>((resolve) => this.space.push(resolve));
    this.queue.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  nudge(): void {
    this.wake?.();
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.queue.length === 0) {
          if (this.closed || this.host.failed) return;
          await this.next();
          continue;
        }
        const box = this.queue[0]!.box;
        // A connection per transaction: players may outnumber the pool's connections.
        const connection = await this.connect();
        try {
          const batch = await this.host.open(connection, box, this.queue[0]!.op);
          await this.fill(batch);
          await batch.commit();
        } finally {
          connection.release();
        }
      }
    } catch (error) {
      this.host.fail(error);
    } finally {
      for (const resolve of this.space.splice(0)) resolve();
    }
  }

  /**
   * Adds the queued ops of the batch's mailbox to it, APPLY_OPS at a time, until the budget is
   * spent, the queue turns to another mailbox, or it is empty and either no more ops come (the
   * logs are read, or replay failed) or another player waits for a connection.
   */
  private async fill(batch: OpenBatch): Promise<void> {
    let ops = 0;
    let bytes = 0;
    let taken: RedoOp[] = [];
    const apply = async () => {
      if (taken.length === 0) return;
      const run = taken;
      taken = [];
      await batch.add(run);
    };
    while (ops < TXN_OPS && bytes < TXN_BODY_BYTES) {
      const ending = this.closed || !!this.host.failed || this.group.wanting > 0;
      // A few ops at a time would cost the statements of a bulk step each (bulk-apply.ts).
      if (!ending && this.queue.length < Math.max(1, this.capacity / 2)) {
        await this.next();
        continue;
      }
      if (this.queue.length === 0) break;
      let n = 0;
      while (n < this.queue.length && this.queue[n]!.box === batch.sourceId && ops + n < TXN_OPS) {
        bytes += trailingOf(this.queue[n]!.op)?.data?.length ?? 0;
        n++;
      }
      if (n === 0) break;
      for (const item of this.queue.splice(0, n)) taken.push(item.op);
      for (const resolve of this.space.splice(0)) resolve();
      ops += n;
      if (taken.length >= APPLY_OPS) await apply();
    }
    await apply();
  }

  /** One of the pool's connections; waiting for it (none was free) makes the other players commit. */
  private async connect(): Promise<PoolConnection> {
    let waiting = false;
    // A free connection is handed over before this runs.
    const timer = setImmediate(() => {
      waiting = true;
      this.group.wanting++;
      this.group.nudge();
    });
    try {
      return await this.host.db.getConnection();
    } finally {
      clearImmediate(timer);
      if (waiting) this.group.wanting--;
    }
  }

  /** Until an op is queued, the queue is closed, or the player is nudged. */
  private async next(): Promise<void> {
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
  }
}

/** Bodies of multi-recipient blobs kept for the CreateMessages that link to them. */
const INCOMING_BYTES = 256 * 1024 * 1024;

/** StoreIncomingBlob bodies by path, the oldest dropped past INCOMING_BYTES. */
export class IncomingBlobs {
  private readonly blobs = new Map<string, Buffer>();
  private bytes = 0;

  add(path: string, data: Buffer): void {
    // A copy: the reader's body is a view of its read window, which the blob kept would keep.
    this.blobs.set(path, Buffer.from(data));
    this.bytes += data.length;
    for (const [oldest, held] of this.blobs) {
      if (this.bytes <= INCOMING_BYTES) break;
      this.blobs.delete(oldest);
      this.bytes -= held.length;
    }
  }

  get(path: string): Buffer | undefined {
    return this.blobs.get(path);
  }
}
