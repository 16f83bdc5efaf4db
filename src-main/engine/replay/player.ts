import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { readRedoLog, txnKey, type RedoOp } from '../redolog';
import { mailboxGroupDb, type Volume } from '../server/volumes';
import {
  APPLIED_OPS,
  applyOp,
  DELETE_OPS,
  flushFolderCounts,
  type ApplyContext,
  type MailboxCounters,
  type ReplayMailbox,
} from './apply-ops';
import type { RedoLogFile } from './log-files';
import type { ServerFiles } from './server-files';

/**
 * The redo player (RedoPlayer + PlaybackUtil): reads logs in order and applies an op only once
 * its CommitTxn is read and the commit falls in the range, in commit order per mailbox, with
 * mailboxes spread over `threads` players (mailbox m always on player m mod threads). Each
 * player applies a run of one mailbox's ops in one database transaction, one savepoint per op,
 * with the mailbox's checkpoints written in the same transaction; an op whose change id the
 * mailbox already has is skipped, which makes replay from any earlier point give the same state.
 */
export interface PlayOptions {
  db: Pool;
  files: ServerFiles;
  volumes: Volume[];
  messageVolume: Volume;
  indexVolumeId: number;
  mailboxGroups: number;
  logs: RedoLogFile[];
  /** Ops prepared at or after this time (zmplayredo --fromTime). */
  fromTime?: number;
  /** Ops committed at or before this time. */
  toTime?: number;
  /** Source mailbox id → where to apply; absent: every mailbox, each as itself. */
  mailboxes?: Map<number, ReplayMailbox>;
  skipDeletes?: boolean;
  stopOnError?: boolean;
  threads?: number;
  queueCapacity?: number;
  accountEmail?(accountId: string): Promise<string | undefined>;
}

export interface ReplayError {
  mailboxId: number;
  op: string;
  changeId: number;
  message: string;
}

export interface ReplayReport {
  files: Array<{ name: string; seq: number; from: string }>;
  records: number;
  committed: number;
  applied: number;
  /** Committed ops whose effect the mailbox already had (change id at or below its checkpoint). */
  alreadyPresent: number;
  /** Outside the time range or for other mailboxes. */
  outOfRange: number;
  otherMailboxes: number;
  skippedDeletes: number;
  aborted: number;
  /** Ops with no CommitTxn in the logs read (in flight, or lost in a crash): never applied. */
  uncommitted: number;
  /** CommitTxn records whose op was not in the logs read. */
  orphanCommits: number;
  /** Committed ops replay does not apply, by name. */
  unknownOps: Record<string, number>;
  damage: Array<{ file: string; offset: number; length: number; reason: string }>;
  tornTails: Array<{ file: string; offset: number }>;
  errors: ReplayError[];
  mailboxes: number[];
  /** Database transactions the ops were applied in (runs of one mailbox's ops). */
  transactions: number;
  durationMs: number;
}

export class ReplayStoppedError extends Error {}

/** An op failed in a run applied without savepoints: the run is applied again, carefully. */
class RetryCarefully extends Error {}

interface Item {
  box: number;
  op: RedoOp;
}

const BATCH = 200;
/** Bodies of multi-recipient blobs kept for the CreateMessages that link to them. */
const INCOMING_BYTES = 256 * 1024 * 1024;

class IncomingBlobs {
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

class Player {
  private queue: Item[] = [];
  private wake: (() => void) | null = null;
  private space: Array<() => void> = [];
  private closed = false;
  readonly done: Promise<void>;

  constructor(
    private readonly run: Replay,
    private readonly capacity: number,
  ) {
    this.done = this.loop();
  }

  async push(item: Item): Promise<void> {
    while (this.queue.length >= this.capacity && !this.run.failed)
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
          if (this.closed || this.run.failed) return;
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
        const connection = await this.run.options.db.getConnection();
        try {
          await this.run.applyBatch(
            connection,
            first.box,
            batch.map((i) => i.op),
          );
        } finally {
          connection.release();
        }
      }
    } catch (error) {
      this.run.fail(error);
    } finally {
      for (const resolve of this.space.splice(0)) resolve();
    }
  }
}

class Replay {
  readonly report: ReplayReport;
  failed: unknown = null;
  private readonly boxes = new Map<number, ReplayMailbox | null>();
  private readonly counters = new Map<number, MailboxCounters | null>();
  readonly incoming = new IncomingBlobs();

  constructor(readonly options: PlayOptions) {
    this.report = {
      files: options.logs.map((l) => ({ name: l.name, seq: l.seq, from: l.from })),
      records: 0,
      committed: 0,
      applied: 0,
      alreadyPresent: 0,
      outOfRange: 0,
      otherMailboxes: 0,
      skippedDeletes: 0,
      aborted: 0,
      uncommitted: 0,
      orphanCommits: 0,
      unknownOps: {},
      damage: [],
      tornTails: [],
      errors: [],
      mailboxes: [],
      transactions: 0,
      durationMs: 0,
    };
  }

  fail(error: unknown): void {
    this.failed ??= error;
  }

  /** The mailbox an op of `sourceId` goes to, resolved from the database when playing every mailbox. */
  async mailboxFor(c: PoolConnection, sourceId: number, op: RedoOp): Promise<ReplayMailbox | null> {
    const mapped = this.options.mailboxes?.get(sourceId);
    if (mapped) return mapped;
    if (this.boxes.has(sourceId) && this.boxes.get(sourceId)) return this.boxes.get(sourceId)!;
    const [rows] = await c.query<RowDataPacket[]>(
      'SELECT account_id, comment FROM zimbra.mailbox WHERE id = ?',
      [sourceId],
    );
    const row = rows[0];
    let box: ReplayMailbox | null = null;
    if (row)
      box = {
        sourceId,
        mailboxId: sourceId,
        groupDb: mailboxGroupDb(sourceId, this.options.mailboxGroups),
        accountId: String(row.account_id),
        email: String(row.comment ?? ''),
      };
    else if (op.op === 'CreateMailbox' && op.accountId)
      box = {
        sourceId,
        mailboxId: sourceId,
        groupDb: mailboxGroupDb(sourceId, this.options.mailboxGroups),
        accountId: op.accountId,
        email: '',
      };
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
   * One run of a mailbox's ops in one transaction. The first attempt has no savepoints (one
   * statement or so per op); if an op fails, the whole run is rolled back and applied again
   * carefully, one savepoint per op, so that only the failing op is left out.
   */
  async applyBatch(c: PoolConnection, sourceId: number, ops: RedoOp[], careful = false): Promise<void> {
    const box = await this.mailboxFor(c, sourceId, ops[0]!);
    if (!box) {
      for (const op of ops) this.error(sourceId, op, `mailbox ${sourceId} does not exist on this server`);
      return;
    }
    const counters = await this.countersOf(c, box);
    const ctx: ApplyContext = {
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
    const before = { ...counters };
    const tally = { applied: 0, present: 0, skippedDeletes: 0 };
    const errors: Array<{ op: RedoOp; message: string }> = [];
    let stopped: ReplayStoppedError | null = null;
    await c.beginTransaction();
    try {
      for (const op of ops) {
        const changeId = op.header.changeId;
        if (changeId > 0 && changeId <= counters.changeCheckpoint) {
          tally.present++;
          continue;
        }
        if (this.options.skipDeletes && DELETE_OPS.has(op.op)) {
          tally.skippedDeletes++;
          continue;
        }
        const saved = { ...counters };
        const removals = ctx.removals.length;
        const deltas = new Map([...ctx.folderDeltas].map(([k, v]) => [k, { ...v }]));
        ctx.writes = [];
        if (careful) await c.query('SAVEPOINT replay_op');
        try {
          await applyOp(ctx, op);
          // The blob is in place before the rows commit, as Zimbra stores it before the transaction ends.
          for (const w of ctx.writes) await this.options.files.writeFile(w.path, w.data);
          if (changeId > counters.changeCheckpoint) counters.changeCheckpoint = changeId;
          tally.applied++;
        } catch (error) {
          if (!careful) throw new RetryCarefully();
          await c.query('ROLLBACK TO SAVEPOINT replay_op');
          Object.assign(counters, saved);
          ctx.removals.length = removals;
          ctx.folderDeltas = deltas;
          errors.push({ op, message: (error as Error).message });
          if (this.options.stopOnError) {
            // What came before the failing op stays applied; nothing after it is.
            stopped = new ReplayStoppedError(this.describe(box.mailboxId, op, error));
            break;
          }
        }
      }
      await flushFolderCounts(ctx);
      if (tally.applied > 0)
        await c.query(
          'UPDATE zimbra.mailbox SET item_id_checkpoint = ?, change_checkpoint = ?, size_checkpoint = ? WHERE id = ?',
          [counters.itemCheckpoint, counters.changeCheckpoint, counters.size, box.mailboxId],
        );
      await c.commit();
    } catch (error) {
      Object.assign(counters, before);
      await c.rollback().catch(() => undefined);
      if (error instanceof RetryCarefully) return this.applyBatch(c, sourceId, ops, true);
      for (const e of errors) this.error(box.mailboxId, e.op, e.message);
      throw error;
    }
    for (const e of errors) this.error(box.mailboxId, e.op, e.message);
    this.report.transactions++;
    this.report.applied += tally.applied;
    this.report.alreadyPresent += tally.present;
    this.report.skippedDeletes += tally.skippedDeletes;
    if (tally.applied > 0 && !this.report.mailboxes.includes(box.mailboxId))
      this.report.mailboxes.push(box.mailboxId);
    // Blobs of deleted items go once the rows are gone for good.
    if (ctx.removals.length > 0) await this.options.files.removeFiles(ctx.removals);
    if (stopped) throw stopped;
  }

  private describe(mailboxId: number, op: RedoOp, error: unknown): string {
    return `mailbox ${mailboxId}: ${op.op} (change ${op.header.changeId}): ${(error as Error).message}`;
  }

  private error(mailboxId: number, op: RedoOp, message: string): void {
    this.report.errors.push({ mailboxId, op: op.op, changeId: op.header.changeId, message });
  }

  /** Reads every log, dispatching committed ops in range to their player. */
  async play(): Promise<ReplayReport> {
    const started = Date.now();
    const threads = Math.max(1, this.options.threads ?? 8);
    const players = Array.from(
      { length: threads },
      () => new Player(this, this.options.queueCapacity ?? 100),
    );
    const pending = new Map<string, RedoOp>();
    const { toTime } = this.options;
    try {
      for (const log of this.options.logs) {
        for await (const event of readRedoLog(log.path, { withBodies: true })) {
          if (this.failed) break;
          if (event.kind === 'header') {
            // A log whose first op comes after the end of the range has nothing to give.
            if (toTime !== undefined && event.header.firstOpTime > toTime) break;
            continue;
          }
          if (event.kind === 'damage') {
            this.report.damage.push({
              file: log.name,
              offset: event.offset,
              length: event.length,
              reason: event.reason,
            });
            continue;
          }
          if (event.kind === 'torn-tail') {
            this.report.tornTails.push({ file: log.name, offset: event.offset });
            continue;
          }
          const { op } = event;
          this.report.records++;
          if (op.op === 'Checkpoint') continue;
          if (op.op === 'AbortTxn') {
            if (pending.delete(txnKey(op.header.txnId))) this.report.aborted++;
            continue;
          }
          if (op.op !== 'CommitTxn') {
            // A start marker; rollover may log the same open transaction again in the next file.
            pending.set(txnKey(op.header.txnId), op);
            continue;
          }
          const started = pending.get(txnKey(op.header.txnId));
          if (!started) {
            this.report.orphanCommits++;
            continue;
          }
          pending.delete(txnKey(op.header.txnId));
          this.report.committed++;
          await this.dispatch(started, op.header.timestamp, players);
        }
        if (this.failed) break;
      }
      this.report.uncommitted = pending.size;
    } finally {
      for (const p of players) p.close();
      await Promise.all(players.map((p) => p.done));
      this.report.durationMs = Date.now() - started;
    }
    if (this.failed) throw this.failed;
    this.report.mailboxes.sort((a, b) => a - b);
    return this.report;
  }

  private async dispatch(op: RedoOp, commitMs: number, players: Player[]): Promise<void> {
    const { fromTime, toTime } = this.options;
    if (
      (toTime !== undefined && commitMs > toTime) ||
      (fromTime !== undefined && op.header.timestamp < fromTime)
    ) {
      this.report.outOfRange++;
      return;
    }
    if (op.op === 'StoreIncomingBlob') {
      if (op.path && op.body.data) this.incoming.add(op.path, op.body.data);
      return;
    }
    const name = op.op === 'Unknown' ? op.name : op.op;
    if (!APPLIED_OPS.has(name)) {
      this.report.unknownOps[name] = (this.report.unknownOps[name] ?? 0) + 1;
      return;
    }
    const source = op.header.mailboxId;
    const mapped = this.options.mailboxes;
    if (mapped && !mapped.has(source)) {
      this.report.otherMailboxes++;
      return;
    }
    const target = mapped?.get(source)?.mailboxId ?? source;
    await players[target % players.length]!.push({ box: source, op });
  }
}

export function playRedo(options: PlayOptions): Promise<ReplayReport> {
  return new Replay(options).play();
}
