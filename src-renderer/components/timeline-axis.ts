import type { Viewport } from '../stores/timeline';
import type { Palette } from './timeline-draw';

/** The time axis of the timeline canvases: ticks at a readable step, labelled in local time. */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SECOND = 1000;
const STEPS = [
  5 * SECOND,
  10 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  7 * DAY,
  30 * DAY,
  91 * DAY,
  365 * DAY,
];

export function tickStep(spanMs: number, widthPx: number): number {
  const wanted = spanMs / Math.max(2, widthPx / 110);
  return STEPS.find((s) => s >= wanted) ?? STEPS.at(-1)!;
}

const pad = (n: number) => String(n).padStart(2, '0');
function tickLabel(ms: number, step: number): string {
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (step >= DAY) return day;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${step < MINUTE ? `:${pad(d.getSeconds())}` : ''}`;
  return d.getHours() === 0 && d.getMinutes() === 0 ? day : time;
}

/** Ticks and grid lines over the plot (the caller clips to it); the labels in the top 26 px. */
export function drawAxis(
  ctx: CanvasRenderingContext2D,
  viewport: Viewport,
  x: (ms: number) => number,
  height: number,
  step: number,
  p: Palette,
): void {
  const offset = new Date(viewport.fromMs).getTimezoneOffset() * MINUTE;
  let tick = Math.ceil((viewport.fromMs - offset) / step) * step + offset;
  if (step >= 30 * DAY) tick = Math.ceil(viewport.fromMs / step) * step;
  ctx.strokeStyle = p.grid;
  ctx.lineWidth = 1;
  for (; tick <= viewport.toMs; tick += step) {
    const tx = Math.round(x(tick)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, 26 - 4);
    ctx.lineTo(tx, height);
    ctx.stroke();
    ctx.fillStyle = p.muted;
    ctx.fillText(tickLabel(tick, step), tx + 4, 12);
  }
}
