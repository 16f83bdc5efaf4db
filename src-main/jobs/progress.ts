import type { LiveStatus } from '../engine/target/session-status';
import type { JobProgress } from '../api/contract';

/**
 * Turns the live status a backup writes (accounts, bytes, current account) into what the
 * console shows: a rate over the last WINDOW_MS and an estimate of the time left from the pace
 * of accounts so far (bytes per account vary too much to estimate from bytes).
 */
const WINDOW_MS = 10_000;

export class ProgressMeter {
  private samples: { at: number; bytes: number }[] = [];
  private firstAt: number | null = null;

  constructor(private readonly startedAt: number) {}

  read(status: LiveStatus, now: number): JobProgress {
    this.firstAt ??= now;
    this.samples.push({ at: now, bytes: status.bytes });
    while (this.samples.length > 2 && this.samples[0]!.at < now - WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const span = now - first.at;
    const bytesPerSec = span >= 1000 ? Math.max(0, ((status.bytes - first.bytes) * 1000) / span) : null;
    const { done, total, errors } = status.accounts;
    const elapsed = now - this.startedAt;
    const etaMs =
      total !== null && done > 0 && done <= total ? Math.round((elapsed / done) * (total - done)) : null;
    return {
      accountsDone: done,
      accountsTotal: total,
      accountErrors: errors,
      bytes: status.bytes,
      bytesPerSec: bytesPerSec === null ? null : Math.round(bytesPerSec),
      etaMs,
      currentAccount: status.currentAccount,
      message: status.message,
    };
  }
}
