import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { RedoOp } from '../redolog';
import { mailboxGroupDb } from '../server/volumes';
import {
  applyOp,
  DELETE_OPS,
  flushFolderCounts,
  type ApplyContext,
  type MailboxCounters,
  type ReplayMailbox,
} from './apply-ops';
import { blobWriter, type BlobWriter } from './blob-writes';
import { applyBulk, BULK_OPS, type BulkRun } from './bulk-apply';
import type { PlayOptions } from './player';
import type { IncomingBlobs } from './player-queue';
import type { ReadWindows } from './read-windows';
import { ReplayStoppedError, type ReplayReport } from './replay-report';

/** An op failed in a run applied without savepoints: the run is applied again, carefully. */
class RetryCarefully extends Error {}

interface Tally {
  applied: number;
  present: number;
  skippedDeletes: number;
}

/** A quick run's transaction while it is open: what it applied so far, and its blob writes. */
interface QuickRun {
  ctx: ApplyContext;
  /** The checkpoints before the run, put back if it is rolled back. */
  before: MailboxCounters;
  tally: Tally;
  writing: Array<Promise<void>>;
  /** An op failed: the rest is not applied, and commit applies the whole run again carefully. */
  broken: boolean;
  /** The bulk run message ops go on in, written before another kind of op and at commit. */
  bulk: BulkRun | null;
}

/**
 * A run of one mailbox's ops in one transaction, ops added as the player takes them from its
 * queue. A quick run applies them as they are added; a careful run (or one for a mailbox that
 * does not exist) keeps them and applies them at commit.
 */
export class OpenBatch {
  readonly ops: RedoOp[] = [];

  constructor(
    private readonly applier: BatchApplier,
    private readonly c: PoolConnection,
    readonly sourceId: number,
    readonly quick: QuickRun | null,
  ) {}

  async add(ops: RedoOp[]): Promise<void> {
    this.ops.push(...ops);
    if (this.quick) await this.applier.addQuickly(this.quick, ops);
  }

  commit(): Promise<void> {
    if (this.quick) return this.applier.commitQuickly(this.quick, this.sourceId, this.ops);
    return this.applier.applyBatch(this.c, this.sourceId, this.ops);
  }
}

/**
 * One run of a mailbox's ops in one database transaction, with the mailbox's checkpoints written
 * in it. The first attempt is quick: runs of message ops go through bulk-apply.ts (a few
 * statements for the whole run), the others one by one, no savepoints, blobs written while the
 * statements run. If anything fails, the transaction is rolled back and the batch applied again
 * carefully: one op at a time, a savepoint each, so that only the failing op is left out.
 */
export class BatchApplier {
  private readonly boxes = new Map<number, ReplayMailbox | null>();
  private readonly counters = new Map<number, MailboxCounters | null>();
  /** Mailboxes a run was committed in (ops applied or already present): blob-sweep.ts checks them at the end. */
  readonly touched = new Set<number>();
  /** The quick runs' blob files, written as their messages are created (blob-writes.ts). */
  private readonly blobWrites: BlobWriter;

  constructor(
    private readonly options: PlayOptions,
    private readonly report: ReplayReport,
    private readonly incoming: IncomingBlobs,
    /** Where the ops' bodies are let go of once written, and read back for a careful retry. */
    private readonly bodies: Pick<ReadWindows, 'release' | 'reload'> | null = null,
  ) {
    this.blobWrites = blobWriter(options.files, { thread: !options.blobsInProcess });
  }

  /** The mailbox an op of `sourceId` goes to, resolved from the database when playing every mailbox. */
  private async mailboxFor(c: PoolConnection, sourceId: number, op: RedoOp): Promise<ReplayMailbox | null> {
    const mapped = this.options.mailboxes?.get(sourceId);
    if (mapped) return mapped;
    if (this.boxes.has(sourceId) && this.boxes.get(sourceId)) return this.boxes.get(sourceId)!;
    const [rows] = await c.query<RowDataPacket[]>(
      'SELECT account_id, comment FROM zimbra.mailbox WHERE id = ?',
      [sourceId],
    );
    const row = rows[0];
    let box: ReplayMailbox | null = null;
    const groupDb = mailboxGroupDb(sourceId, this.options.mailboxGroups);
    if (row)
      box = {
        sourceId,
        mailboxId: sourceId,
        groupDb,
        accountId: String(row.account_id),
        email: String(row.comment ?? ''),
      };
    else if (op.op === 'CreateMailbox' && op.accountId)
      box = { sourceId, mailboxId: sourceId, groupDb, accountId: op.accountId, email: '' };
    this.boxes.set(sourceId, box);
    return box;
  }

  private async countersOf(c: PoolConnection, box: ReplayMailbox): Promise<MailboxCounters> {
    const known = this.counters.get(box.mailboxId);
    if (known) return known;
    const [rows] = await c.query<RowDataPacket[]>(
      'SELECT change_checkpoint, item_id_checkpoint, size_checkpoint FROM zimbra.mailbox WHERE id = ?',
      [box.mailboxId],
    );
    const row = rows[0];
    const counters: MailboxCounters = row
      ? {
          changeCheckpoint: Number(row.change_checkpoint),
          itemCheckpoint: Number(row.item_id_checkpoint),
          size: Number(row.size_checkpoint),
        }
      : { changeCheckpoint: 0, itemCheckpoint: 0, size: 0 };
    if (row) this.counters.set(box.mailboxId, counters);
    return counters;
  }

  /**
   * Opens a transaction for a run of ops of `sourceId`, to which the player adds ops as they come
   * (OpenBatch.add) and which it then commits (OpenBatch.commit).
   */
  async open(c: PoolConnection, sourceId: number, first: RedoOp): Promise<OpenBatch> {
    const box = await this.mailboxFor(c, sourceId, first);
    const batch = new OpenBatch(
      this,
      c,
      sourceId,
      box && !this.options.careful ? await this.quick(c, box) : null,
    );
    if (batch.quick) await c.beginTransaction();
    return batch;
  }

  private async quick(c: PoolConnection, box: ReplayMailbox): Promise<QuickRun> {
    const counters = await this.countersOf(c, box);
    return {
      ctx: this.context(c, box, counters),
      before: { ...counters },
      tally: { applied: 0, present: 0, skippedDeletes: 0 },
      writing: [],
      broken: false,
      bulk: null,
    };
  }

  private context(c: PoolConnection, box: ReplayMailbox, counters: MailboxCounters): ApplyContext {
    return {
      c,
      box,
      counters,
      messageVolume: this.options.messageVolume,
      volumes: this.options.volumes,
      incomingBlob: (path) => this.incoming.get(path),
      writes: [],
      removals: [],
      folderDeltas: new Map(),
      accountEmail: this.options.accountEmail,
      mailboxGroups: this.options.mailboxGroups,
      indexVolumeId: this.options.indexVolumeId,
    };
  }

  /** Applies ops of an open quick run in its transaction; a failure leaves the run broken (retried carefully). */
  async addQuickly(run: QuickRun, ops: RedoOp[]): Promise<void> {
    if (run.broken) return;
    const from = run.writing.length;
    await this.applyQuickly(run, ops).catch(() => {
      run.broken = true;
    });
    // Checked and handed to their writes: the bodies are let go of once written (the reader's
    // window is then reused); a careful retry reads them back (commitQuickly).
    const { bodies } = this;
    if (bodies)
      void Promise.allSettled(run.writing.slice(from)).then(() => {
        for (const op of ops) bodies.release(op);
      });
  }

  /** Ends an open quick run: committed with its checkpoints, or rolled back and applied again carefully. */
  async commitQuickly(run: QuickRun, sourceId: number, ops: RedoOp[]): Promise<void> {
    const { ctx, tally } = run;
    const { c, counters } = ctx;
    try {
      if (run.broken) throw new RetryCarefully();
      if (run.bulk) await run.bulk.flush().catch(() => Promise.reject(new RetryCarefully()));
      await flushFolderCounts(ctx);
      if (tally.applied > 0) await this.writeCheckpoints(ctx);
      // The blobs are in place before the rows commit, as Zimbra stores them before the transaction ends.
      if ((await Promise.allSettled(run.writing)).some((w) => w.status === 'rejected'))
        throw new RetryCarefully();
      await c.commit();
    } catch (error) {
      Object.assign(counters, run.before);
      await c.rollback().catch(() => undefined);
      await Promise.allSettled(run.writing);
      if (!(error instanceof RetryCarefully)) throw error;
      this.report.retriedCarefully++;
      await this.bodies?.reload(ops);
      return this.applyBatch(c, sourceId, ops);
    }
    this.committed(ctx, tally);
    // Blobs of deleted items go once the rows are gone for good.
    if (ctx.removals.length > 0) await this.options.files.removeFiles(ctx.removals);
  }

  private writeCheckpoints(ctx: ApplyContext): Promise<unknown> {
    const { counters } = ctx;
    // zimbra.mailbox is the parent of every mailbox table of every group: an UPDATE of it locks
    // them all (MariaDB's foreign key prelocking), about 17 ms of server CPU with 100 groups.
    // Hence as few transactions as can be (player-queue.ts).
    return ctx.c.query(
      'UPDATE zimbra.mailbox SET item_id_checkpoint = ?, change_checkpoint = ?, size_checkpoint = ? WHERE id = ?',
      [counters.itemCheckpoint, counters.changeCheckpoint, counters.size, ctx.box.mailboxId],
    );
  }

  private committed(ctx: ApplyContext, tally: Tally): void {
    const id = ctx.box.mailboxId;
    this.touched.add(id);
    this.report.transactions++;
    this.report.applied += tally.applied;
    this.report.alreadyPresent += tally.present;
    this.report.skippedDeletes += tally.skippedDeletes;
    if (tally.applied > 0 && !this.report.mailboxes.includes(id)) this.report.mailboxes.push(id);
  }

  /** One run applied carefully, in a transaction of its own: one op at a time, a savepoint each. */
  async applyBatch(c: PoolConnection, sourceId: number, ops: RedoOp[]): Promise<void> {
    const box = await this.mailboxFor(c, sourceId, ops[0]!);
    if (!box) {
      for (const op of ops) this.error(sourceId, op, `mailbox ${sourceId} does not exist on this server`);
      return;
    }
    const counters = await this.countersOf(c, box);
    const ctx = this.context(c, box, counters);
    const before = { ...counters };
    const tally: Tally = { applied: 0, present: 0, skippedDeletes: 0 };
    const errors: Array<{ op: RedoOp; message: string }> = [];
    let stopped: ReplayStoppedError | null = null;
    await c.beginTransaction();
    try {
      stopped = await this.applyCarefully(ctx, ops, tally, errors);
      await flushFolderCounts(ctx);
      if (tally.applied > 0) await this.writeCheckpoints(ctx);
      await c.commit();
    } catch (error) {
      Object.assign(counters, before);
      await c.rollback().catch(() => undefined);
      for (const e of errors) this.error(box.mailboxId, e.op, e.message);
      throw error;
    }
    for (const e of errors) this.error(box.mailboxId, e.op, e.message);
    this.committed(ctx, tally);
    if (ctx.removals.length > 0) await this.options.files.removeFiles(ctx.removals);
    if (stopped) throw stopped;
  }

  /** Whether an op is to be applied: its change id is past the checkpoint, and it is not a skipped delete. */
  private admit(op: RedoOp, checkpoint: number, tally: { present: number; skippedDeletes: number }): boolean {
    const changeId = op.header.changeId;
    if (changeId > 0 && changeId <= checkpoint) {
      tally.present++;
      return false;
    }
    if (this.options.skipDeletes && DELETE_OPS.has(op.op)) {
      tally.skippedDeletes++;
      return false;
    }
    return true;
  }

  /** Every op applied (or this throws): message ops in bulk runs, the others one by one. */
  private async applyQuickly(run: QuickRun, ops: RedoOp[]): Promise<void> {
    const { ctx, tally } = run;
    const { counters } = ctx;
    const write = (path: string, data: Buffer, digest?: string) => {
      const queued = this.blobWrites.write(path, data, digest);
      // Looked at when the run commits; a write failing before then (a body that does not match
      // its digest fails at once) is not an unhandled rejection meanwhile.
      queued.done.catch(() => undefined);
      run.writing.push(queued.done);
      return queued;
    };
    const chosen: RedoOp[] = [];
    for (const op of ops)
      if (this.admit(op, counters.changeCheckpoint, tally)) {
        chosen.push(op);
        // As the careful path: the checkpoint follows each applied op.
        if (op.header.changeId > counters.changeCheckpoint) counters.changeCheckpoint = op.header.changeId;
      }
    for (let i = 0; i < chosen.length;) {
      let j = i;
      while (j < chosen.length && BULK_OPS.has(chosen[j]!.op)) j++;
      if (j > i) {
        run.bulk = await applyBulk(ctx, run.bulk, chosen.slice(i, j), write);
        i = j;
        continue;
      }
      // Any other op sees the rows as the ops before it left them.
      if (run.bulk) await run.bulk.flush();
      run.bulk = null;
      ctx.writes = [];
      await applyOp(ctx, chosen[i]!);
      for (const w of ctx.writes) write(w.path, w.data);
      i++;
    }
    tally.applied += chosen.length;
  }

  /** One op at a time, a savepoint each: a failing op is rolled back and reported (or stops the replay). */
  private async applyCarefully(
    ctx: ApplyContext,
    ops: RedoOp[],
    tally: Tally,
    errors: Array<{ op: RedoOp; message: string }>,
  ): Promise<ReplayStoppedError | null> {
    const { c, counters } = ctx;
    for (const op of ops) {
      if (!this.admit(op, counters.changeCheckpoint, tally)) continue;
      const changeId = op.header.changeId;
      const saved = { ...counters };
      const removals = ctx.removals.length;
      const deltas = new Map([...ctx.folderDeltas].map(([k, v]) => [k, { ...v }]));
      ctx.writes = [];
      await c.query('SAVEPOINT replay_op');
      try {
        await applyOp(ctx, op);
        // The blob is in place before the rows commit, as Zimbra stores it before the transaction ends.
        for (const w of ctx.writes) await this.options.files.writeFile(w.path, w.data);
        if (changeId > counters.changeCheckpoint) counters.changeCheckpoint = changeId;
        tally.applied++;
      } catch (error) {
        await c.query('ROLLBACK TO SAVEPOINT replay_op');
        Object.assign(counters, saved);
        ctx.removals.length = removals;
        ctx.folderDeltas = deltas;
        errors.push({ op, message: (error as Error).message });
        // What came before the failing op stays applied; nothing after it is.
        if (this.options.stopOnError)
          return new ReplayStoppedError(this.describe(ctx.box.mailboxId, op, error));
      }
    }
    return null;
  }

  private describe(mailboxId: number, op: RedoOp, error: unknown): string {
    return `mailbox ${mailboxId}: ${op.op} (change ${op.header.changeId}): ${(error as Error).message}`;
  }

  private error(mailboxId: number, op: RedoOp, message: string): void {
    this.report.errors.push({ mailboxId, op: op.op, changeId: op.header.changeId, message });
  }
}
