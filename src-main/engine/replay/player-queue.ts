import type { Pool, PoolConnection } from 'mysql2/promise';
import type { RedoOp } from '../redolog';

/**
 * One player (a PlaybackUtil thread): a bounded queue of ops, applied in order, a run of one
 * mailbox's consecutive ops at a time. The reader waits while the queue is full.
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
  applyBatch(c: PoolConnection, sourceId: number, ops: RedoOp[]): Promise<void>;
}

/** Ops of one mailbox applied in one transaction at most. */
const BATCH = 200;

export class Player {
  private queue: QueuedOp[] = [];
  private wake: (() => void) | null = null;
  private space: Array<() => void> = [];
  private closed = false;
  readonly done: Promise<void>;

  constructor(
    private readonly host: PlayerHost,
    private readonly capacity: number,
  ) {
    this.done = this.loop();
  }

  async push(item: QueuedOp): Promise<void> {
    while (this.queue.length >= this.capacity && !this.host.failed)
      await new Promise<void>((resolve) => this.space.push(resolve));
    this.queue.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.queue.length === 0) {
          if (this.closed || this.host.failed) return;
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
          continue;
        }
        const first = this.queue[0]!;
        let n = 1;
        while (n < this.queue.length && n < BATCH && this.queue[n]!.box === first.box) n++;
        const batch = this.queue.splice(0, n);
        for (const resolve of this.space.splice(0)) resolve();
        // A connection per batch: players may outnumber the pool's connections.
        const connection = await this.host.db.getConnection();
        try {
          await this.host.applyBatch(
            connection,
            first.box,
            batch.map((i) => i.op),
          );
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
}

/** Bodies of multi-recipient blobs kept for the CreateMessages that link to them. */
const INCOMING_BYTES = 256 * 1024 * 1024;

/** StoreIncomingBlob bodies by path, the oldest dropped past INCOMING_BYTES. */
export class IncomingBlobs {
  private readonly blobs = new Map<string, Buffer>();
  private bytes = 0;

  add(path: string, data: Buffer): void {
    this.blobs.set(path, data);
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
