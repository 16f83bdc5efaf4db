import type { Pool, PoolConnection } from 'mysql2/promise';
import { txnKey, type RedoOp } from '../redolog';
import { readRedoLogBatches } from '../redolog/reader';
import type { Volume } from '../server/volumes';
import { BatchApplier, type OpenBatch } from './apply-batch';
import { APPLIED_OPS, type ReplayMailbox } from './apply-ops';
import { sweepOrphanBlobs } from './blob-sweep';
import type { RedoLogFile } from './log-files';
import { IncomingBlobs, Player, PlayerGroup, type PlayerHost } from './player-queue';
import { ReadWindows } from './read-windows';
import { emptyReport, type ReplayReport } from './replay-report';
import type { ServerFiles } from './server-files';

export { ReplayStoppedError, type ReplayError, type ReplayReport } from './replay-report';

/**
 * The redo player (RedoPlayer + PlaybackUtil): reads logs in order and applies an op only once
 * its CommitTxn is read and the commit falls in the range, in commit order per mailbox, with
 * mailboxes spread over `threads` players (mailbox m always on player m mod threads). Each
 * player applies a run of one mailbox's ops in one database transaction (apply-batch.ts), with
 * the mailbox's checkpoints written in the same transaction; an op whose change id the mailbox
 * already has is skipped, which makes replay from any earlier point give the same state.
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
  /** Every run one op at a time, with savepoints (the quick bulk path is compared with it in tests). */
  careful?: boolean;
  /**
   * Leaves blob files no row refers to (blob-sweep.ts), for a restore told to leave the message
   * volumes' files as they are (--excludeBlobs).
   */
  keepUnreferencedBlobs?: boolean;
  /**
   * Local blob files written from this thread (libuv's pool) rather than by the blob thread
   * (blob-thread.ts): for comparing the two in one process (bench/restore.ts --alternate).
   */
  blobsInProcess?: boolean;
  /**
   * false: a new read window a MiB and every body kept until its run commits, as before
   * read-windows.ts (bench/restore.ts --alternate-windows compares the two).
   */
  reuseReadWindows?: boolean;
  accountEmail?(accountId: string): Promise<string | undefined>;
}

class Replay implements PlayerHost {
  readonly report: ReplayReport;
  failed: unknown = null;
  readonly incoming = new IncomingBlobs();
  /** The reader's windows, reused as the bodies in them are written (read-windows.ts). */
  private readonly windows = new ReadWindows();
  private readonly batches: BatchApplier;

  constructor(readonly options: PlayOptions) {
    this.report = emptyReport(options.logs);
    const reuse = options.reuseReadWindows !== false;
    this.batches = new BatchApplier(options, this.report, this.incoming, reuse ? this.windows : null);
  }

  get db(): Pool {
    return this.options.db;
  }

  fail(error: unknown): void {
    this.failed ??= error;
  }

  open(c: PoolConnection, sourceId: number, first: RedoOp): Promise<OpenBatch> {
    return this.batches.open(c, sourceId, first);
  }

  /** Reads every log, dispatching committed ops in range to their player. */
  async play(): Promise<ReplayReport> {
    const started = Date.now();
    const threads = Math.max(1, this.options.threads ?? 8);
    await openConnections(this.options.db, threads);
    const group = new PlayerGroup();
    const players = Array.from(
      { length: threads },
      () => new Player(this, this.options.queueCapacity ?? 100, group),
    );
    const pending = new Map<string, RedoOp>();
    const { toTime } = this.options;
    const { windows } = this;
    try {
      for (const log of this.options.logs) {
        // Zimbra's live log is redo.log; a rollover renames it into the archive.
        const source = windows.source(log.path, log.name === 'redo.log');
        reading: for await (const batch of readRedoLogBatches(log.path, {
          withBodies: true,
          window: this.options.reuseReadWindows === false ? undefined : windows.allocate,
        })) {
          for (const event of batch) {
            if (this.failed) break reading;
            if (event.kind === 'header') {
              // A log whose first op comes after the end of the range has nothing to give.
              if (toTime !== undefined && event.header.firstOpTime > toTime) break reading;
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
            // Its body (a view of the reader's window) holds the window until let go of.
            windows.track(op, source);
            this.report.records++;
            if (op.op === 'Checkpoint') continue;
            if (op.op === 'AbortTxn') {
              const aborted = pending.get(txnKey(op.header.txnId));
              if (aborted) {
                pending.delete(txnKey(op.header.txnId));
                windows.release(aborted);
                this.report.aborted++;
              }
              continue;
            }
            if (op.op !== 'CommitTxn') {
              // A start marker; rollover may log the same open transaction again in the next file.
              const before = pending.get(txnKey(op.header.txnId));
              if (before && before !== op) windows.release(before);
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
            // A promise only when the player's queue is full: otherwise the next event follows at once.
            const queueFull = this.dispatch(started, op.header.timestamp, players);
            if (queueFull) await queueFull;
          }
          // Every event read so far is tracked: the windows the reader moved past may be reused.
          windows.batchDone();
        }
        if (this.failed) break;
      }
      this.report.uncommitted = pending.size;
    } finally {
      for (const p of players) p.close();
      await Promise.all(players.map((p) => p.done));
      await windows.close();
      this.report.durationMs = Date.now() - started;
    }
    if (this.failed) throw this.failed;
    await this.sweep();
    this.report.durationMs = Date.now() - started;
    this.report.mailboxes.sort((a, b) => a - b);
    return this.report;
  }

  /**
   * Every mailbox the replay committed a run in loses the blob files no row refers to (what a
   * killed or retried run may have left: blob-sweep.ts). Only after a replay that went through:
   * a failed one is run again, and that run sweeps.
   */
  private async sweep(): Promise<void> {
    if (this.options.keepUnreferencedBlobs) return;
    const queue = [...this.batches.touched].sort((a, b) => a - b);
    const worker = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift())
        this.report.orphanBlobsRemoved += (await sweepOrphanBlobs(this.options, id)).length;
    };
    // A few at a time: each is a couple of queries and a listing (a command over SSH).
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker));
  }

  private dispatch(op: RedoOp, commitMs: number, players: Player[]): Promise<void> | undefined {
    const queued = this.queue(op, commitMs, players);
    // Not queued for a player: its body is not needed (an incoming blob's was copied).
    if (queued === false) this.windows.release(op);
    return typeof queued === 'boolean' ? undefined : queued;
  }

  /** The op queued for its player (a promise when its queue is full), or false when it is not applied. */
  private queue(op: RedoOp, commitMs: number, players: Player[]): Promise<void> | true | false {
    const { fromTime, toTime } = this.options;
    if (
      (toTime !== undefined && commitMs > toTime) ||
      (fromTime !== undefined && op.header.timestamp < fromTime)
    ) {
      this.report.outOfRange++;
      return false;
    }
    if (op.op === 'StoreIncomingBlob') {
      if (op.path && op.body.data) this.incoming.add(op.path, op.body.data);
      return false;
    }
    const name = op.op === 'Unknown' ? op.name : op.op;
    if (!APPLIED_OPS.has(name)) {
      this.report.unknownOps[name] = (this.report.unknownOps[name] ?? 0) + 1;
      return false;
    }
    const source = op.header.mailboxId;
    const mapped = this.options.mailboxes;
    if (mapped && !mapped.has(source)) {
      this.report.otherMailboxes++;
      return false;
    }
    const target = mapped?.get(source)?.mailboxId ?? source;
    return players[target % players.length]!.push({ box: source, op }) ?? true;
  }
}

/**
 * Has the pool open a connection for each player before the first op (each released as soon as
 * it is handed over, so a pool smaller than `players` is no deadlock). A player that has to wait
 * for its connection makes the other players commit (player-queue.ts); with the pool's
 * connections made on demand, the wait for a new connection's handshake did that at the start
 * of every replay: 11-17 transactions in the bench's first round against 8 once the pool was
 * full.
 */
async function openConnections(db: Pool, players: number): Promise<void> {
  await Promise.all(Array.from({ length: players }, async () => (await db.getConnection()).release()));
}

export function playRedo(options: PlayOptions): Promise<ReplayReport> {
  return new Replay(options).play();
}
