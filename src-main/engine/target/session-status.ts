import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './durable-fs';
import { SESSION_FILES } from './layout';

/**
 * `tmp/<label>/status.json`: the live status of a session being written, for progress readers
 * (the console, `zmbackupquery`) in other processes. Replaced atomically (temp + rename) so a
 * reader never sees half of it, at most twice a second, and not fsynced: it is advisory; the
 * manifest is the record. It is removed when the session is committed.
 */
export const liveStatusSchema = z.object({
  label: z.string(),
  type: z.enum(['full', 'incremental']),
  status: z.literal('in progress'),
  pid: z.int(),
  hostname: z.string(),
  startMs: z.int(),
  updatedMs: z.int(),
  accounts: z.object({ total: z.int().nullable(), done: z.int(), errors: z.int() }),
  /** Email of the account being backed up now. */
  currentAccount: z.string().nullable(),
  /** Bytes written into the session so far. */
  bytes: z.int(),
  message: z.string().nullable(),
});
export type LiveStatus = z.infer<typeof liveStatusSchema>;
export type LiveStatusUpdate = Partial<Pick<LiveStatus, 'accounts' | 'currentAccount' | 'bytes' | 'message'>>;

export async function readLiveStatus(sessionDir: string): Promise<LiveStatus | null> {
  try {
    const parsed = liveStatusSchema.safeParse(
      JSON.parse(await fs.promises.readFile(path.join(sessionDir, SESSION_FILES.status), 'utf8')),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export class StatusFile {
  private state: LiveStatus;
  private dirty = true; // the initial status is due at the first flush
  private lastWriteMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;
  /** Writes done so far (for tests of the throttle). */
  writes = 0;

  constructor(
    private readonly file: string,
    initial: Pick<LiveStatus, 'label' | 'type' | 'startMs'>,
    private readonly minIntervalMs = 500,
  ) {
    this.state = {
      ...initial,
      status: 'in progress',
      pid: process.pid,
      hostname: os.hostname(),
      updatedMs: Date.now(),
      accounts: { total: null, done: 0, errors: 0 },
      currentAccount: null,
      bytes: 0,
      message: null,
    };
  }

  get current(): LiveStatus {
    return this.state;
  }

  /** Merges the change; it reaches the file within minIntervalMs. */
  update(change: LiveStatusUpdate): void {
    if (this.closed) return;
    this.state = { ...this.state, ...change };
    this.dirty = true;
    this.schedule();
  }

  /** Writes pending changes now. */
  async flush(): Promise<void> {
    this.clearTimer();
    await this.writing;
    if (this.dirty && !this.closed) await this.write();
  }

  /** Stops writing (pending changes are dropped) and waits for a write in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.writing;
  }

  private schedule(): void {
    if (this.timer || this.writing) return;
    const wait = Math.max(0, this.lastWriteMs + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write();
    }, wait);
    this.timer.unref();
  }

  private write(): Promise<void> {
    this.dirty = false;
    this.lastWriteMs = Date.now();
    this.state = { ...this.state, updatedMs: this.lastWriteMs };
    const text = `${JSON.stringify(this.state)}\n`;
    this.writing = writeFileAtomic(this.file, text, { durable: false })
      .catch(() => undefined) // progress is best effort; a failing disk shows in the data writes
      .then(() => {
        this.writes++;
        this.writing = null;
        if (this.dirty && !this.closed) this.schedule();
      });
    return this.writing;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
