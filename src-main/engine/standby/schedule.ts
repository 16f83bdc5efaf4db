import { STANDBY_VOLUMES, type StandbyVolume, type VolumeRecord } from './record';

/**
 * When each volume is snapshotted: mysql, blobs and index every hour and redo logs every 15
 * minutes by default (the seed), configurable per volume. Within a due set the order is the
 * seed's — mysql, blobs, index, redolog — so the set's other snapshots follow its dump by
 * seconds. `mailvault standby snapshot --due` from cron every minute takes what is due; tests
 * run the same schedule with intervals of seconds.
 */
export type Intervals = Record<StandbyVolume, number>;

export const DEFAULT_INTERVALS: Intervals = {
  mysql: 3_600_000,
  blobs: 3_600_000,
  index: 3_600_000,
  redolog: 900_000,
};

/** "mysql=1h,redolog=15m" (units s, m, h) over the defaults. */
export function parseIntervals(text: string | undefined, base: Intervals = DEFAULT_INTERVALS): Intervals {
  const out = { ...base };
  if (!text) return out;
  for (const part of text.split(',')) {
    const m = /^(mysql|blobs|index|redolog)=(\d{1,6})(s|m|h)$/.exec(part.trim());
    if (!m) throw new RangeError(`${part}: not <volume>=<n>s|m|h (volumes: ${STANDBY_VOLUMES.join(', ')})`);
    const n = Number(m[2]);
    if (n === 0) throw new RangeError(`${part}: an interval of 0`);
    out[m[1] as StandbyVolume] = n * { s: 1000, m: 60_000, h: 3_600_000 }[m[3] as 's' | 'm' | 'h'];
  }
  return out;
}

/** The volumes due at `now`, in the seed's order: never snapshotted, or last started an interval ago. */
export function dueVolumes(
  records: Partial<Record<StandbyVolume, VolumeRecord>>,
  intervals: Intervals,
  now: number,
): StandbyVolume[] {
  return STANDBY_VOLUMES.filter((v) => {
    const snaps = records[v]?.snapshots ?? [];
    const last = snaps[snaps.length - 1];
    if (!last) return true;
    // An unfinished snapshot is resumed at once.
    if (!last.complete) return true;
    return now - last.takenAt >= intervals[v];
  });
}

/**
 * Runs the schedule until `signal` aborts: each tick takes the due snapshots in order through
 * `take` (which a test may wrap), one at a time. A failed snapshot is reported and retried at
 * the next tick.
 */
export async function runSchedule(options: {
  intervals: Intervals;
  tickMs: number;
  signal: AbortSignal;
  records: () => Promise<Partial<Record<StandbyVolume, VolumeRecord>>>;
  take: (volume: StandbyVolume) => Promise<unknown>;
  onError?: (volume: StandbyVolume, error: unknown) => void;
}): Promise<void> {
  while (!options.signal.aborted) {
    for (const volume of dueVolumes(await options.records(), options.intervals, Date.now())) {
      if (options.signal.aborted) return;
      try {
        await options.take(volume);
      } catch (error) {
        options.onError?.(volume, error);
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.tickMs);
      options.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}
