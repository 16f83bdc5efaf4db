import type { ServerTimeline, SessionInfo, SessionOutcome } from '../../src-main/api/contract';
import type { Viewport } from '../stores/timeline';

/**
 * Draws a server's timeline on a canvas: a time axis, fulls and incrementals in two lanes coloured
 * by outcome, the redo-coverage band (where a restore to any second is possible), gaps, and the
 * sessions a prune would delete. Pure drawing over plain data, so 5,000 sessions cost one pass.
 */
export interface Palette {
  text: string;
  muted: string;
  grid: string;
  surface: string;
  ok: string;
  warn: string;
  bad: string;
  accent: string;
  coverage: string;
  gap: string;
}

export const LAYOUT = {
  axis: 26,
  fullTop: 40,
  fullHeight: 44,
  incrTop: 96,
  incrHeight: 30,
  bandTop: 140,
  bandHeight: 12,
  height: 168,
  gutter: 108,
};

export function colourOf(status: SessionOutcome, p: Palette): string {
  switch (status) {
    case 'completed':
      return p.ok;
    case 'completed with errors':
      return p.warn;
    case 'in progress':
      return p.accent;
    default:
      return p.bad;
  }
}

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

/** Index of the first session starting at or after `ms` (sessions sorted by start). */
export function firstFrom(sessions: SessionInfo[], ms: number): number {
  let lo = 0;
  let hi = sessions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sessions[mid]!.startMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface DrawState {
  data: ServerTimeline;
  viewport: Viewport;
  selected?: string;
  doomed: ReadonlySet<string>;
  now: number;
}

/** Longest session in the data, so sessions that began before the viewport but reach into it are drawn. */
function longest(sessions: SessionInfo[], now: number): number {
  let max = 0;
  for (const s of sessions) max = Math.max(max, (s.endMs ?? now) - s.startMs);
  return max;
}

export function drawTimeline(
  ctx: CanvasRenderingContext2D,
  width: number,
  state: DrawState,
  p: Palette,
): number {
  const { data, viewport, now } = state;
  const { gutter } = LAYOUT;
  const plot = width - gutter - 8;
  const span = viewport.toMs - viewport.fromMs;
  const x = (ms: number) => gutter + ((ms - viewport.fromMs) / span) * plot;
  ctx.clearRect(0, 0, width, LAYOUT.height);
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';

  // Lane names.
  ctx.fillStyle = p.muted;
  ctx.fillText('Full', 10, LAYOUT.fullTop + LAYOUT.fullHeight / 2);
  ctx.fillText('Incremental', 10, LAYOUT.incrTop + LAYOUT.incrHeight / 2);
  ctx.fillText('Redo coverage', 10, LAYOUT.bandTop + LAYOUT.bandHeight / 2);

  ctx.save();
  ctx.beginPath();
  ctx.rect(gutter, 0, plot, LAYOUT.height);
  ctx.clip();

  // Gaps: the whole height, so they show whatever the zoom.
  for (const g of data.gaps) {
    const x0 = x(g.fromMs);
    const x1 = x(g.toMs);
    if (x1 < gutter || x0 > width) continue;
    ctx.fillStyle = p.gap;
    ctx.fillRect(x0, LAYOUT.axis, Math.max(2, x1 - x0), LAYOUT.height - LAYOUT.axis);
  }

  // Axis and grid.
  const step = tickStep(span, plot);
  const offset = new Date(viewport.fromMs).getTimezoneOffset() * MINUTE;
  let tick = Math.ceil((viewport.fromMs - offset) / step) * step + offset;
  if (step >= 30 * DAY) tick = Math.ceil(viewport.fromMs / step) * step;
  ctx.strokeStyle = p.grid;
  ctx.lineWidth = 1;
  for (; tick <= viewport.toMs; tick += step) {
    const tx = Math.round(x(tick)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, LAYOUT.axis - 4);
    ctx.lineTo(tx, LAYOUT.height);
    ctx.stroke();
    ctx.fillStyle = p.muted;
    ctx.fillText(tickLabel(tick, step), tx + 4, 12);
  }

  // Coverage band.
  ctx.fillStyle = p.coverage;
  for (const c of data.coverage) {
    const x0 = x(c.fromMs);
    const x1 = x(c.toMs);
    if (x1 < gutter || x0 > width) continue;
    ctx.fillRect(x0, LAYOUT.bandTop, Math.max(2, x1 - x0), LAYOUT.bandHeight);
  }
  ctx.fillStyle = p.bad;
  for (const g of data.gaps) {
    const x0 = x(g.fromMs);
    ctx.fillRect(x0, LAYOUT.bandTop, Math.max(2, x(g.toMs) - x0), LAYOUT.bandHeight);
  }

  // Sessions in view (and those that began earlier but reach into it); troubled ones in a second
  // pass, on top, so a failure shows even among thousands of good sessions.
  const sessions = data.sessions;
  let drawn = 0;
  const begin = firstFrom(sessions, viewport.fromMs - longest(sessions, now));
  const troubled: number[] = [];
  const drawOne = (s: SessionInfo) => {
    const end = s.endMs ?? now;
    const x0 = x(s.startMs);
    const w = Math.max(3, x(end) - x0);
    if (x0 + w < gutter) return false;
    const full = s.type === 'full';
    const top = full ? LAYOUT.fullTop : LAYOUT.incrTop;
    const height = full ? LAYOUT.fullHeight : LAYOUT.incrHeight;
    ctx.fillStyle = colourOf(s.status, p);
    ctx.fillRect(x0, top, w, height);
    if (state.doomed.has(s.label)) {
      ctx.fillStyle = p.surface;
      ctx.globalAlpha = 0.55;
      ctx.fillRect(x0, top, w, height);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = p.bad;
      ctx.lineWidth = 2;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(x0 - 2, top - 3, w + 4, height + 6);
      ctx.setLineDash([]);
    }
    if (s.label === state.selected) {
      ctx.strokeStyle = p.accent;
      ctx.lineWidth = 3;
      ctx.strokeRect(x0 - 3, top - 4, w + 6, height + 8);
    }
    return true;
  };
  for (let i = begin; i < sessions.length; i++) {
    const s = sessions[i]!;
    if (s.startMs > viewport.toMs) break;
    if (s.status !== 'completed' || s.label === state.selected) troubled.push(i);
    else if (drawOne(s)) drawn++;
  }
  for (const i of troubled) if (drawOne(sessions[i]!)) drawn++;

  // Now.
  if (now >= viewport.fromMs && now <= viewport.toMs) {
    const nx = Math.round(x(now)) + 0.5;
    ctx.strokeStyle = p.accent;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(nx, LAYOUT.axis);
    ctx.lineTo(nx, LAYOUT.height);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();
  return drawn;
}

/** The session under a point, if any (the nearest within a few pixels). */
export function sessionAt(
  sessions: SessionInfo[],
  viewport: Viewport,
  width: number,
  px: number,
  py: number,
  now: number,
): SessionInfo | undefined {
  const { gutter } = LAYOUT;
  const plot = width - gutter - 8;
  const span = viewport.toMs - viewport.fromMs;
  const lane =
    py >= LAYOUT.fullTop - 4 && py <= LAYOUT.fullTop + LAYOUT.fullHeight + 4
      ? 'full'
      : py >= LAYOUT.incrTop - 4 && py <= LAYOUT.incrTop + LAYOUT.incrHeight + 4
        ? 'incremental'
        : undefined;
  if (!lane) return undefined;
  const ms = viewport.fromMs + ((px - gutter) / plot) * span;
  const slack = (6 / plot) * span;
  let best: SessionInfo | undefined;
  let bestDistance = Infinity;
  const begin = firstFrom(sessions, ms - slack - longest(sessions, now));
  for (let i = begin; i < sessions.length; i++) {
    const s = sessions[i]!;
    if (s.startMs > ms + slack) break;
    if (s.type !== lane) continue;
    const end = s.endMs ?? now;
    const distance = ms < s.startMs ? s.startMs - ms : ms > end ? ms - end : 0;
    if (distance <= slack && distance < bestDistance) {
      best = s;
      bestDistance = distance;
    }
  }
  return best;
}
