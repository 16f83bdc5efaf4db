import { useEffect, useMemo, useRef, useState } from 'react';
import type { Lane, TimelineData, Viewport } from '../stores/timeline';
import { markOnce } from '../paint-mark';
import { drawTimeline, LAYOUT, paletteOf as palette, sessionAt, timelineTipAt } from './timeline-draw';
import { drawLanes, laneSessionAt, lanesHeight, laneTipAt } from './timeline-lanes';

interface Props {
  /** The colour theme: a change redraws with the new palette. */
  theme: string;
  /** One server's timeline (data), or every server's, one lane each (lanes). */
  data?: TimelineData;
  lanes?: Lane[];
  viewport: Viewport;
  selected?: string;
  selectedServer?: string;
  doomed: string[];
  onSelect(label: string | undefined, serverId?: string): void;
  onZoom(factor: number, aroundMs?: number): void;
  onPan(fraction: number): void;
  onFit(): void;
}

/**
 * The timeline as a canvas (one draw per change, whatever the number of sessions). Mouse: wheel
 * zooms around the pointer, drag pans, click selects. Keyboard (when focused): ← → pan, + − zoom,
 * 0 fits, Esc clears the selection.
 */
export function TimelineCanvas(props: Props) {
  const { data, lanes, viewport, selected, selectedServer, doomed } = props;
  const height = lanes ? lanesHeight(lanes.length) : LAYOUT.height;
  const [tip, setTip] = useState<string>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [painted, setPainted] = useState({ count: 0, sessions: 0 });
  const drag = useRef<{ x: number; moved: boolean } | null>(null);
  const doomedSet = useMemo(() => new Set(doomed), [doomed]);
  // The system's light/dark preference matters when the theme follows it.
  const [systemDark, setSystemDark] = useState(
    () => window.matchMedia('(prefers-color-scheme: dark)').matches,
  );
  useEffect(() => {
    const query = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setSystemDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  // The canvas's own CSS width (100% of its frame's content box); the bitmap follows it.
  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = canvas.current;
    if (!el || width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    // Reallocating the bitmap clears it: only when the size really changed.
    const w = Math.round(width * ratio);
    const h = Math.round(height * ratio);
    if (el.width !== w || el.height !== h) {
      el.width = w;
      el.height = h;
    }
    const ctx = el.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const now = Date.now();
    const sessions = lanes
      ? drawLanes(
          ctx,
          width,
          {
            lanes,
            viewport,
            now,
            ...(selected && selectedServer
              ? { selected: { serverId: selectedServer, label: selected } }
              : {}),
          },
          palette(el),
        )
      : data
        ? drawTimeline(ctx, width, { data, viewport, selected, doomed: doomedSet, now }, palette(el))
        : 0;
    setPainted((p) => ({ count: p.count + 1, sessions }));
    // For bench/console-paint.ts: when the first timeline with sessions reached the screen.
    if (sessions > 0) markOnce('mailvault:timeline-painted');
  }, [data, lanes, height, viewport, selected, selectedServer, doomedSet, width, props.theme, systemDark]);

  const timeAt = (clientX: number) => {
    const rect = canvas.current!.getBoundingClientRect();
    const plot = rect.width - LAYOUT.gutter - 8;
    return (
      viewport.fromMs + ((clientX - rect.left - LAYOUT.gutter) / plot) * (viewport.toMs - viewport.fromMs)
    );
  };

  return (
    <canvas
      ref={canvas}
      className="timeline-canvas"
      style={{ width: '100%', height }}
      title={tip}
      tabIndex={0}
      role="img"
      aria-label={`Timeline: ${lanes ? `${lanes.length} servers` : `${data?.sessions.length ?? 0} sessions`}. Arrow keys pan, plus and minus zoom, 0 fits.`}
      data-testid="timeline-canvas"
      data-scope={lanes ? 'all' : 'server'}
      data-painted={painted.count}
      data-sessions-drawn={painted.sessions}
      onWheel={(e) => props.onZoom(e.deltaY > 0 ? 1.25 : 0.8, timeAt(e.clientX))}
      onMouseDown={(e) => (drag.current = { x: e.clientX, moved: false })}
      onMouseMove={(e) => {
        const rect = canvas.current!.getBoundingClientRect();
        const [px, py] = [e.clientX - rect.left, e.clientY - rect.top];
        const over = lanes
          ? laneTipAt(lanes, viewport, rect.width, px, py)
          : data && timelineTipAt(data, viewport, rect.width, px, py);
        if (over !== tip) setTip(over);
        const d = drag.current;
        if (!d || !(e.buttons & 1)) return;
        const dx = e.clientX - d.x;
        if (Math.abs(dx) < 3 && !d.moved) return;
        d.moved = true;
        d.x = e.clientX;
        const plot = canvas.current!.clientWidth - LAYOUT.gutter - 8;
        props.onPan(-dx / plot);
      }}
      onMouseUp={(e) => {
        const d = drag.current;
        drag.current = null;
        if (d?.moved) return;
        const rect = canvas.current!.getBoundingClientRect();
        const [px, py] = [e.clientX - rect.left, e.clientY - rect.top];
        if (lanes) {
          const hit = laneSessionAt(lanes, viewport, rect.width, px, py, Date.now());
          props.onSelect(hit?.label, hit?.serverId);
          return;
        }
        const hit = data && sessionAt(data.sessions, viewport, rect.width, px, py, Date.now());
        props.onSelect(hit?.label);
      }}
      onKeyDown={(e) => {
        const keys: Record<string, () => void> = {
          ArrowLeft: () => props.onPan(-0.2),
          ArrowRight: () => props.onPan(0.2),
          '+': () => props.onZoom(0.7),
          '=': () => props.onZoom(0.7),
          '-': () => props.onZoom(1.4),
          '0': () => props.onFit(),
          Escape: () => props.onSelect(undefined),
        };
        const act = keys[e.key];
        if (act) {
          e.preventDefault();
          act();
        }
      }}
    />
  );
}
