import type { SessionOutcome, SessionRow } from '../../src-main/api/contract';
import type { TimelineData, Viewport } from '../stores/timeline';
import { drawAxis, tickStep } from './timeline-axis';
import { drawRuns, runTipAt, type RunRow } from './timeline-runs';

export { tickStep } from './timeline-axis';

/**
 * Draws a server's timeline on a canvas: a time axis, fulls and incrementals in two lanes coloured
 * by outcome, the redo-coverage band (where a restore to any second is possible), gaps, and the
 * sessions a prune would delete, and the schedule's next and missed runs. Pure drawing over plain data, so 5,000 sessions cost one pass.
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

/** The theme's colours, as the CSS variables on (or above) an element say. */
export function paletteOf(el: Element): Palette {
  const css = getComputedStyle(el);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    text: v('--text'),
    muted: v('--muted'),
    grid: v('--grid'),
    surface: v('--surface'),
    ok: v('--ok'),
    warn: v('--warn'),
    bad: v('--bad'),
    accent: v('--accent'),
    coverage: v('--coverage'),
    gap: v('--gap'),
  };
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

/** Where the schedule's run markers go: in the lane of their kind; deletes just under the axis. */
const RUN_ROW: RunRow = {
  full: { mid: LAYOUT.fullTop + LAYOUT.fullHeight / 2, half: 12 },
  incremental: { mid: LAYOUT.incrTop + LAYOUT.incrHeight / 2, half: 9 },
  delete: { mid: 33, half: 5 },
};

/** x of a time on a canvas `width` wide (the plot starts after the gutter). */
export function xScale(viewport: Viewport, width: number): (ms: number) => number {
  const plot = width - LAYOUT.gutter - 8;
  const span = viewport.toMs - viewport.fromMs;
  return (ms: number) => LAYOUT.gutter + ((ms - viewport.fromMs) / span) * plot;
}

/** The tooltip of a planned or missed run under a point. */
export function timelineTipAt(data: TimelineData, viewport: Viewport, width: number, px: number, py: number) {
  return runTipAt(data, RUN_ROW, xScale(viewport, width), px, py);
}

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

/** Index of the first session starting at or after `ms` (sessions sorted by start). */
export function firstFrom(sessions: readonly { startMs: number }[], ms: number): number {
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
  data: TimelineData;
  viewport: Viewport;
  selected?: string;
  doomed: ReadonlySet<string>;
  now: number;
}

/** Longest session in the data, so sessions that began before the viewport but reach into it are drawn. */
export function longest(sessions: readonly SessionRow[], now: number): number {
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
  drawAxis(ctx, viewport, x, LAYOUT.height, tickStep(span, plot), p);

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
  const drawOne = (s: SessionRow) => {
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
  // Good sessions that touch on screen merge into one bar per lane stretch: a year of them is a
  // few hundred fills, not thousands. Labels are only looked at when something is marked.
  const marked = (s: SessionRow) =>
    (state.selected !== undefined && s.label === state.selected) ||
    (state.doomed.size > 0 && state.doomed.has(s.label));
  const runs = { full: { x0: 0, x1: -Infinity }, incremental: { x0: 0, x1: -Infinity } };
  const flush = (type: SessionRow['type']) => {
    const r = runs[type];
    if (r.x1 <= r.x0) return;
    if (type === 'full') ctx.fillRect(r.x0, LAYOUT.fullTop, r.x1 - r.x0, LAYOUT.fullHeight);
    else ctx.fillRect(r.x0, LAYOUT.incrTop, r.x1 - r.x0, LAYOUT.incrHeight);
  };
  ctx.fillStyle = p.ok;
  for (let i = begin; i < sessions.length; i++) {
    const s = sessions[i]!;
    if (s.startMs > viewport.toMs) break;
    if (s.status !== 'completed' || marked(s)) {
      troubled.push(i);
      continue;
    }
    const x0 = x(s.startMs);
    const x1 = Math.max(x0 + 3, x(s.endMs ?? now));
    if (x1 < gutter) continue;
    drawn++;
    const r = runs[s.type];
    if (x0 <= r.x1 + 0.5) r.x1 = Math.max(r.x1, x1);
    else {
      flush(s.type);
      r.x0 = x0;
      r.x1 = x1;
    }
  }
  flush('full');
  flush('incremental');
  for (const i of troubled) if (drawOne(sessions[i]!)) drawn++;
  drawRuns(ctx, data, RUN_ROW, x, p);

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
  sessions: SessionRow[],
  viewport: Viewport,
  width: number,
  px: number,
  py: number,
  now: number,
): SessionRow | undefined {
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
  let best: SessionRow | undefined;
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
