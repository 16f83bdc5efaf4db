import type { SessionRow } from '../../src-main/api/contract';
import type { Lane, Viewport } from '../stores/timeline';
import { colourOf, firstFrom, LAYOUT, longest, tickStep, xScale, type Palette } from './timeline-draw';
import { drawAxis } from './timeline-axis';
import { drawRuns, runTipAt, type RunRow } from './timeline-runs';

/**
 * The all-servers timeline: one lane per server on one time axis. In a lane, fulls are tall bars,
 * incrementals short ones, both coloured by outcome; a thin band under them is the server's redo
 * coverage, gaps are shaded; the schedule's next and missed runs are markers as on one server's.
 */
export const LANES = { axis: 26, lane: 40, full: 26, incr: 14, band: 3 };

export function lanesHeight(count: number): number {
  return LANES.axis + Math.max(1, count) * LANES.lane + 6;
}

const laneTop = (i: number) => LANES.axis + i * LANES.lane;

function runRow(i: number): RunRow {
  const mid = laneTop(i) + 4 + LANES.full / 2;
  return {
    full: { mid, half: LANES.full / 2 - 1 },
    incremental: { mid, half: LANES.incr / 2 },
    delete: { mid: laneTop(i) + LANES.lane - 8, half: 4 },
  };
}

export interface LanesState {
  lanes: Lane[];
  viewport: Viewport;
  selected?: { serverId: string; label: string };
  now: number;
}

export function drawLanes(
  ctx: CanvasRenderingContext2D,
  width: number,
  state: LanesState,
  p: Palette,
): number {
  const { lanes, viewport, now } = state;
  const { gutter } = LAYOUT;
  const plot = width - gutter - 8;
  const height = lanesHeight(lanes.length);
  const x = xScale(viewport, width);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  lanes.forEach((lane, i) => {
    ctx.fillStyle = lane.error ? p.bad : p.text;
    const name = lane.name.length > 14 ? `${lane.name.slice(0, 13)}…` : lane.name;
    ctx.fillText(name, 10, laneTop(i) + LANES.lane / 2);
    if (i > 0) {
      ctx.fillStyle = p.grid;
      ctx.fillRect(0, laneTop(i), width, 1);
    }
  });
  ctx.save();
  ctx.beginPath();
  ctx.rect(gutter, 0, plot, height);
  ctx.clip();
  drawAxis(ctx, viewport, x, height, tickStep(viewport.toMs - viewport.fromMs, plot), p);
  let drawn = 0;
  lanes.forEach((lane, i) => {
    const d = lane.data;
    if (!d) return;
    const top = laneTop(i);
    const bandTop = top + LANES.lane - 6;
    for (const g of d.gaps) {
      ctx.fillStyle = p.gap;
      ctx.fillRect(x(g.fromMs), top + 1, Math.max(2, x(g.toMs) - x(g.fromMs)), LANES.lane - 2);
    }
    ctx.fillStyle = p.coverage;
    for (const c of d.coverage)
      ctx.fillRect(x(c.fromMs), bandTop, Math.max(2, x(c.toMs) - x(c.fromMs)), LANES.band);
    const sessions = d.sessions;
    const troubled: SessionRow[] = [];
    const one = (s: SessionRow) => {
      const x0 = x(s.startMs);
      const w = Math.max(3, x(s.endMs ?? now) - x0);
      if (x0 + w < gutter) return;
      const h = s.type === 'full' ? LANES.full : LANES.incr;
      const y = top + 4 + (LANES.full - h) / 2;
      ctx.fillStyle = colourOf(s.status, p);
      ctx.fillRect(x0, y, w, h);
      const chosen = state.selected?.serverId === lane.serverId && state.selected.label === s.label;
      if (chosen) {
        ctx.strokeStyle = p.accent;
        ctx.lineWidth = 3;
        ctx.strokeRect(x0 - 3, y - 3, w + 6, h + 6);
        ctx.lineWidth = 1;
      }
      drawn++;
    };
    for (let k = firstFrom(sessions, viewport.fromMs - longest(sessions, now)); k < sessions.length; k++) {
      const s = sessions[k]!;
      if (s.startMs > viewport.toMs) break;
      if (s.status !== 'completed' || state.selected?.label === s.label) troubled.push(s);
      else one(s);
    }
    troubled.forEach(one);
    drawRuns(ctx, d, runRow(i), x, p);
  });
  if (now >= viewport.fromMs && now <= viewport.toMs) {
    const nx = Math.round(x(now)) + 0.5;
    ctx.strokeStyle = p.accent;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(nx, LANES.axis);
    ctx.lineTo(nx, height);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();
  return drawn;
}

/** The session under a point on the all-servers timeline: its server and label. */
export function laneSessionAt(
  lanes: Lane[],
  viewport: Viewport,
  width: number,
  px: number,
  py: number,
  now: number,
): { serverId: string; label: string } | undefined {
  const i = Math.floor((py - LANES.axis) / LANES.lane);
  const lane = lanes[i];
  if (!lane?.data || py < LANES.axis) return undefined;
  const plot = width - LAYOUT.gutter - 8;
  const span = viewport.toMs - viewport.fromMs;
  const ms = viewport.fromMs + ((px - LAYOUT.gutter) / plot) * span;
  const slack = (6 / plot) * span;
  const sessions = lane.data.sessions;
  let best: SessionRow | undefined;
  let bestDistance = Infinity;
  for (let k = firstFrom(sessions, ms - slack - longest(sessions, now)); k < sessions.length; k++) {
    const s = sessions[k]!;
    if (s.startMs > ms + slack) break;
    const end = s.endMs ?? now;
    const distance = ms < s.startMs ? s.startMs - ms : ms > end ? ms - end : 0;
    // At equal distance a full wins: it is the taller, easier target.
    if (distance <= slack && (distance < bestDistance || (distance === bestDistance && s.type === 'full'))) {
      best = s;
      bestDistance = distance;
    }
  }
  return best && { serverId: lane.serverId, label: best.label };
}

export function laneTipAt(lanes: Lane[], viewport: Viewport, width: number, px: number, py: number) {
  const i = Math.floor((py - LANES.axis) / LANES.lane);
  const lane = lanes[i];
  if (!lane?.data || py < LANES.axis) return undefined;
  const tip = runTipAt(lane.data, runRow(i), xScale(viewport, width), px, py);
  return tip && `${lane.name}: ${tip}`;
}
