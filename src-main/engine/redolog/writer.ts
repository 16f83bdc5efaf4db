import fs from 'node:fs/promises';
import { encodeFileHeader, FILE_HEADER_SIZE, type RedoFileHeader } from './file-header';
import { CURRENT_REDO_VERSION, type RedoOp } from './ops';
import { encodeRecord } from './record';

export interface RedoLogFileOptions {
  seq: number;
  /** The server's zimbraId, as FileHeader records it. */
  serverId: string;
  createTime?: number;
}

/**
 * Writes a redo log file as FileLogWriter does: the header goes first with the open flag set,
 * records are appended, and the header is rewritten with size and first/last op times on flush
 * and with the flag cleared on close. Appends are buffered until flush (Zimbra: group commit,
 * fsync every zimbraRedoLogFsyncIntervalMS).
 */
export class RedoLogFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = FILE_HEADER_SIZE;
  private header: RedoFileHeader;

  private constructor(
    private readonly fh: fs.FileHandle,
    options: RedoLogFileOptions,
  ) {
    const now = options.createTime ?? Date.now();
    this.header = {
      open: true,
      fileSize: FILE_HEADER_SIZE,
      seq: options.seq,
      serverId: options.serverId,
      firstOpTime: 0,
      lastOpTime: 0,
      version: CURRENT_REDO_VERSION,
      createTime: now,
    };
  }

  static async create(path: string, options: RedoLogFileOptions): Promise<RedoLogFileWriter> {
    const fh = await fs.open(path, 'wx');
    const writer = new RedoLogFileWriter(fh, options);
    await fh.write(encodeFileHeader(writer.header), 0, FILE_HEADER_SIZE, 0);
    return writer;
  }

  /** Bytes in the file once pending records are flushed. */
  get size(): number {
    return this.written + this.pendingBytes;
  }

  get seq(): number {
    return this.header.seq;
  }

  append(op: RedoOp): void {
    for (const part of encodeRecord(op)) {
      this.pending.push(part);
      this.pendingBytes += part.length;
    }
    if (this.header.firstOpTime === 0) this.header.firstOpTime = op.header.timestamp;
    this.header.lastOpTime = Math.max(this.header.lastOpTime, op.header.timestamp);
  }

  /** Writes pending records and the header, then fsyncs: after this they survive a crash. */
  async flush(): Promise<void> {
    if (this.pending.length > 0) {
      const parts = this.pending;
      this.pending = [];
      const bytes = this.pendingBytes;
      this.pendingBytes = 0;
      await this.fh.writev(parts, this.written);
      this.written += bytes;
    }
    this.header.fileSize = this.written;
    await this.fh.write(encodeFileHeader(this.header), 0, FILE_HEADER_SIZE, 0);
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    this.header.open = false;
    await this.flush();
    await this.fh.close();
  }
}
