import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

/**
 * Who holds a target's lock, and whether that process still runs. On Linux the lock also
 * records the boot id and the process's start time (in clock ticks since boot, from
 * /proc/<pid>/stat), so that neither a reboot nor a pid reused by another program makes a
 * dead holder look alive. Elsewhere only `kill(pid, 0)` is available.
 */
export const lockInfoSchema = z.object({
  pid: z.int().positive(),
  hostname: z.string().min(1),
  startedMs: z.int().nonnegative(),
  /** What the holder is doing, in the administrator's words: "full backup", "prune", … */
  operation: z.string().min(1),
  /** The session being written, once it has a label. */
  label: z.string().nullable(),
  /** Unique per lock instance: tells one lock file from the next. */
  nonce: z.string().regex(/^[0-9a-f]{16,64}$/),
  bootId: z.string().nullable(),
  processStartTicks: z.string().nullable(),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

export type Liveness = 'alive' | 'dead' | 'unknown';

/** Whether the holder runs: 'unknown' for another host (its processes cannot be seen from here). */
export function lockHolderLiveness(info: LockInfo): Liveness {
  if (info.hostname !== os.hostname()) return 'unknown';
  const bootId = currentBootId();
  if (info.bootId && bootId && info.bootId !== bootId) return 'dead';
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: the process exists but belongs to another user.
  }
  if (info.processStartTicks) {
    const ticks = processStartTicks(info.pid);
    if (ticks !== null && ticks !== info.processStartTicks) return 'dead'; // the pid was reused
  }
  return 'alive';
}

export function currentBootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (start time after boot, in clock ticks), or null off Linux. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces; count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

export function describeHolder(info: LockInfo): string {
  const since = new Date(info.startedMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' GMT');
  const what = info.label ? `${info.operation} (session ${info.label})` : info.operation;
  return `${what} by process ${info.pid} on ${info.hostname}, since ${since}`;
}
