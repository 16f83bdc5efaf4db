import { drawTimeline, LAYOUT, paletteOf } from './components/timeline-draw';
import { markOnce } from './paint-mark';
import type { TimelineStore } from './stores/timeline';

/**
 * The timeline drawn before React is loaded: a window opened on a timeline shows it as soon as
 * sessions.list has answered, in a plain copy of the screen's frame (the app bar, the panel, the
 * canvas where the real one will be). React replaces it all on its first render (createRoot
 * clears the container). Drawing is the same code the real canvas uses (timeline-draw.ts).
 */
export function prepaintTimeline(timeline: TimelineStore, root: HTMLElement): () => void {
  let done = false;
  const el = (tag: string, className: string, parent: Element, text?: string) => {
    const node = parent.appendChild(document.createElement(tag));
    node.className = className;
    if (text) node.textContent = text;
    return node;
  };
  const paint = () => {
    const { data, viewport, scope } = timeline.getState();
    if (done || scope !== 'server' || !data || !viewport || data.sessions.length === 0) return;
    if (root.childElementCount > 0) return stop(); // React got there first
    done = true;
    const app = el('div', 'app', root);
    const header = el('header', 'app-header', app);
    const brand = el('div', 'brand', header);
    el('span', 'brand-mark', brand, 'MV');
    el('h1', '', brand, 'Mailvault');
    const panel = el('section', 'panel', el('main', 'content', app));
    el('h2', '', el('div', 'panel-head', panel), 'Timeline');
    const body = el('div', 'timeline', panel);
    // Room for the toolbar (legend, zoom buttons) React puts above the canvas: no jump down.
    el('div', 'timeline-toolbar', body).style.height = '54px';
    const frame = el('div', 'timeline-frame', body);
    const canvas = el('canvas', 'timeline-canvas', frame) as HTMLCanvasElement;
    canvas.style.width = '100%';
    canvas.style.height = `${LAYOUT.height}px`;
    const width = canvas.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(LAYOUT.height * ratio);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const drawn = drawTimeline(
      ctx,
      width,
      { data, viewport, doomed: new Set(), now: Date.now() },
      paletteOf(canvas),
    );
    if (drawn > 0) markOnce('mailvault:timeline-painted');
    stop();
  };
  const unsubscribe = timeline.subscribe(paint);
  const stop = () => unsubscribe();
  paint();
  return stop;
}
