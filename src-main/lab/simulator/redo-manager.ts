import fs from 'node:fs';
import path from 'node:path';
import {
  archiveFileName,
  CURRENT_REDO_VERSION,
  decodeFileHeader,
  OP_CODES,
  RedoLogFileWriter,
  type RedoOp,
  type RedoRecordHeader,
  txnKey,
  type TransactionId,
} from '../../engine/redolog';
import type { OpBody } from './redo-ops';

/**
 * The redo side of the simulated mailboxd (RedoLogManager + FileLogWriter): every change is
 * logged before it is applied and committed after, with Zimbra's transaction ids; the log rolls
 * over into archive/redo-<GMT time>-seq<N>.log with a Checkpoint of the open transactions, whose
 * records are re-written into the new log as Zimbra does (so they can appear twice).
 */
export interface RedoManagerOptions {
  redoLog: string;
  archiveDir: string;
  serverId: string;
  /** Roll over when redo.log reaches this size (Zimbra: zimbraRedoLogRolloverFileSizeKB). */
  rolloverBytes: number;
}

export interface PreparedOp {
  op: RedoOp;
}

export class RedoManager {
  private writer!: RedoLogFileWriter;
  private readonly txnTime = Math.floor(Date.now() / 1000);
  private txnCounter = 0;
  private readonly active = new Map<string, RedoOp>();
  private seq = 0;
  /** Every use of the writer, rollover included, runs in this queue (RedoLogManager's log lock). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Group commit: one fsync covers every commit appended before it started. */
  private flushing: Promise<void> | null = null;
  private unflushed = false;

  private constructor(private readonly o: RedoManagerOptions) {}

  /** Opens the log; a redo.log left by an earlier run is archived first, as at mailboxd start. */
  static async open(o: RedoManagerOptions): Promise<RedoManager> {
    const manager = new RedoManager(o);
    fs.mkdirSync(o.archiveDir, { recursive: true });
    let seq = 0;
    if (fs.existsSync(o.redoLog)) {
      const handle = await fs.promises.open(o.redoLog, 'r');
      const header = Buffer.alloc(512);
      await handle.read(header, 0, 512, 0);
      await handle.close();
      const previous = decodeFileHeader(header);
      fs.renameSync(o.redoLog, path.join(o.archiveDir, archiveFileName(Date.now(), previous.seq)));
      seq = previous.seq + 1;
    } else {
      const archived = fs
        .readdirSync(o.archiveDir)
        .map((name) => /-seq(\d+)\.log$/.exec(name)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number);
      seq = archived.length > 0 ? Math.max(...archived) + 1 : 0;
    }
    manager.seq = seq;
    manager.writer = await RedoLogFileWriter.create(o.redoLog, { seq, serverId: o.serverId });
    return manager;
  }

  get currentSeq(): number {
    return this.seq;
  }

  private serial<T>(work: () => Promise<T> | T): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private header(
    opCode: number,
    mailboxId: number,
    changeId: number,
    txnId: TransactionId,
    at = Date.now(),
  ): RedoRecordHeader {
    return {
      version: CURRENT_REDO_VERSION,
      opCode,
      timestamp: at,
      changeId,
      changeConstraint: 0,
      txnId,
      mailboxId,
    };
  }

  /** Logs a data op (the transaction's start marker) and returns it for commit or abort. */
  async prepare(body: OpBody, mailboxId: number, changeId: number): Promise<PreparedOp> {
    const opCode = OP_CODES[body.op];
    if (opCode === undefined) throw new Error(`unknown redo op ${body.op}`);
    const txnId = { time: this.txnTime, counter: ++this.txnCounter };
    const op = { ...body, header: this.header(opCode, mailboxId, changeId, txnId) } as RedoOp;
    await this.serial(() => {
      this.active.set(txnKey(txnId), op);
      this.writer.append(op);
    });
    return { op };
  }

  /** Logs the end marker; returns its timestamp (for a commit, the op's commit time). */
  private async end(prepared: PreparedOp, kind: 'CommitTxn' | 'AbortTxn'): Promise<number> {
    const { header } = prepared.op;
    const at = await this.serial(() => {
      this.active.delete(txnKey(header.txnId));
      const end = this.header(OP_CODES[kind]!, header.mailboxId, -1, header.txnId);
      this.writer.append({ op: kind, header: end, txnOpCode: header.opCode } as RedoOp);
      return end.timestamp;
    });
    await this.sync();
    if (this.writer.size >= this.o.rolloverBytes)
      await this.serial(() => (this.writer.size >= this.o.rolloverBytes ? this.rolloverNow() : undefined));
    return at;
  }

  /** Returns once everything appended so far is on disk, sharing fsyncs between callers. */
  private async sync(): Promise<void> {
    this.unflushed = true;
    while (this.unflushed) {
      if (!this.flushing) {
        this.unflushed = false;
        this.flushing = this.serial(() => this.writer.flush()).finally(() => (this.flushing = null));
      }
      await this.flushing;
    }
  }

  /** Commits; resolves to the CommitTxn record's timestamp once it is on disk. */
  commit(prepared: PreparedOp): Promise<number> {
    return this.end(prepared, 'CommitTxn');
  }

  async abort(prepared: PreparedOp): Promise<void> {
    await this.end(prepared, 'AbortTxn');
  }

  /**
   * Forgets a prepared op without ending it, as when mailboxd dies mid-transaction: the record stays
   * in the log with no CommitTxn, and is carried into the next log once at rollover.
   */
  abandon(prepared: PreparedOp): void {
    void prepared;
  }

  rollover(): Promise<void> {
    return this.serial(() => this.rolloverNow());
  }

  /** FileLogWriter.rollover: checkpoint, close, re-log open transactions into the new file, rename. */
  private async rolloverNow(): Promise<void> {
    const openTxns = [...this.active.values()];
    const checkpointTxn = { time: this.txnTime, counter: ++this.txnCounter };
    this.writer.append({
      op: 'Checkpoint',
      header: this.header(OP_CODES.Checkpoint!, 0, -1, checkpointTxn),
      activeTxns: openTxns.map((op) => op.header.txnId),
    } as RedoOp);
    await this.writer.close();
    const archived = path.join(this.o.archiveDir, archiveFileName(Date.now(), this.seq));
    const temp = path.join(path.dirname(this.o.redoLog), `~tmp-redo-${Date.now()}-seq${this.seq + 1}.log`);
    this.seq++;
    const next = await RedoLogFileWriter.create(temp, { seq: this.seq, serverId: this.o.serverId });
    for (const op of openTxns) next.append(op);
    await next.flush();
    fs.renameSync(this.o.redoLog, archived);
    fs.renameSync(temp, this.o.redoLog);
    this.writer = next;
    // Abandoned transactions are carried over once, then dropped (mailboxd restarted meanwhile).
    this.active.clear();
  }

  close(): Promise<void> {
    return this.serial(() => this.writer.close());
  }
}
