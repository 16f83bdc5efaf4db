/**
 * A counting semaphore for SSH session channels. OpenSSH refuses more than MaxSessions (default
 * 10) sessions per connection, and a refused channel is an error, not a wait, so the transport
 * queues its own calls instead. Forwarded sockets are not sessions and are not counted.
 */
export class ChannelLimiter {
  private inUse = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`channel limit must be a positive integer, not ${capacity}`);
  }

  /** Resolves with a release function (safe to call twice) once a slot is free; rejects when signal aborts. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.take());
      };
      const waiter = { grant };
      const onAbort = (): void => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.inUse < this.capacity) grant();
      else this.waiting.push(waiter);
    });
  }

  /** A release function if a slot is free now, else null (for work that is only worth it then). */
  tryAcquire(): (() => void) | null {
    return this.inUse < this.capacity ? this.take() : null;
  }

  /** Takes a slot; the release function hands it to the next waiter (safe to call twice). */
  private take(): () => void {
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      this.waiting.shift()?.grant();
    };
  }

  get active(): number {
    return this.inUse;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
