import type { ScheduleRun } from '../../src-main/api/contract';
import { formatTime } from '../format';
import type { Palette } from './timeline-draw';

/**
 * A schedule's runs on the timeline: the next runs as hollow markers (a square for a full, a
 * smaller one for an incremental, a triangle for a delete), the missed ones (no attempt started
 * when cron should have started it) with a thick red outline, so they show, not vanish.
 */
export interface RunRow {
  /** Vertical middle and half height of the marker, by kind. */
  full: { mid: number; half: number };
  incremental: { mid: number; half: number };
  delete: { mid: number; half: number };
}

export const MISSED_TIP = 'missed: machine off or run not started';

function shape(
  ctx: CanvasRenderingContext2D,
  kind: ScheduleRun['kind'],
  x: number,
  mid: number,
  half: number,
) {
  ctx.beginPath();
  if (kind === 'delete') {
    ctx.moveTo(x, mid - half);
    ctx.lineTo(x + half, mid + half);
    ctx.lineTo(x - half, mid + half);
    ctx.closePath();
  } else {
    ctx.rect(x - half * 0.6, mid - half, half * 1.2, half * 2);
  }
}

export function drawRuns(
  ctx: CanvasRenderingContext2D,
  runs: { planned?: ScheduleRun[]; missed?: ScheduleRun[] },
  row: RunRow,
  x: (ms: number) => number,
  p: Palette,
): number {
  let drawn = 0;
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = p.accent;
  ctx.setLineDash([3, 2]);
  for (const r of runs.planned ?? []) {
    shape(ctx, r.kind, x(r.atMs), row[r.kind].mid, row[r.kind].half);
    ctx.stroke();
    drawn++;
  }
  ctx.setLineDash([]);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = p.bad;
  for (const r of runs.missed ?? []) {
    const rx = x(r.atMs);
    shape(ctx, r.kind, rx, row[r.kind].mid, row[r.kind].half);
    ctx.fillStyle = p.surface;
    ctx.fill();
    ctx.stroke();
    // A cross inside: missed, not merely planned, also without colour.
    const h = row[r.kind].half * 0.45;
    ctx.beginPath();
    ctx.moveTo(rx - h, row[r.kind].mid - h);
    ctx.lineTo(rx + h, row[r.kind].mid + h);
    ctx.moveTo(rx + h, row[r.kind].mid - h);
    ctx.lineTo(rx - h, row[r.kind].mid + h);
    ctx.stroke();
    drawn++;
  }
  ctx.lineWidth = 1;
  return drawn;
}

/** The tooltip for the run marker under a point, if any. */
export function runTipAt(
  runs: { planned?: ScheduleRun[]; missed?: ScheduleRun[] },
  row: RunRow,
  x: (ms: number) => number,
  px: number,
  py: number,
): string | undefined {
  const near = (r: ScheduleRun) => {
    const { mid, half } = row[r.kind];
    return Math.abs(x(r.atMs) - px) <= half + 3 && Math.abs(py - mid) <= half + 3;
  };
  const missed = runs.missed?.find(near);
  if (missed) return `${MISSED_TIP} (${missed.kind}, ${formatTime(missed.atMs)})`;
  const planned = runs.planned?.find(near);
  if (planned) return `planned ${planned.kind}: ${formatTime(planned.atMs)}`;
  return undefined;
}
