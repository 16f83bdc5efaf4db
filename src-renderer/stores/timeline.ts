import { create } from 'zustand';
import type { ApiError, MailvaultApi, ServerTimeline, SessionDetail } from '../../src-main/api/contract';

export interface Viewport {
  fromMs: number;
  toMs: number;
}

export interface TimelineState {
  serverId?: string;
  data?: ServerTimeline;
  loading: boolean;
  error?: ApiError;
  viewport?: Viewport;
  selected?: string;
  detail?: SessionDetail;
  /** Labels shown as "will be deleted" (a prune preview). */
  doomed: string[];
  load(serverId: string): Promise<void>;
  select(label: string | undefined): Promise<void>;
  /** factor < 1 zooms in; around a time (default: the middle). */
  zoom(factor: number, aroundMs?: number): void;
  /** Moves by a fraction of the visible span (negative: earlier). */
  pan(fraction: number): void;
  fit(): void;
  setDoomed(labels: string[]): void;
}

const MIN_SPAN = 20_000;
const HOUR = 3_600_000;

/** The whole of a timeline, with a margin, or the last day when there is nothing. */
export function fitViewport(data: ServerTimeline | undefined, now = Date.now()): Viewport {
  const sessions = data?.sessions ?? [];
  if (sessions.length === 0) return { fromMs: now - 24 * HOUR, toMs: now + HOUR };
  const from = sessions[0]!.startMs;
  const to = Math.max(...sessions.map((s) => s.endMs ?? now), now);
  // A margin of a tenth of the span each side (at least 20 s): the sessions fill the view.
  const margin = Math.max((to - from) * 0.1, 20_000);
  return { fromMs: from - margin, toMs: to + margin };
}

export function createTimelineStore(api: MailvaultApi) {
  let latest = 0;
  const store = create<TimelineState>()((set, get) => ({
    loading: false,
    doomed: [],
    async load(serverId) {
      const request = ++latest;
      const switching = get().serverId !== serverId;
      set({
        serverId,
        loading: true,
        ...(switching
          ? { data: undefined, selected: undefined, detail: undefined, viewport: undefined, doomed: [] }
          : {}),
      });
      const answer = await api.call('sessions.list', { serverId });
      if (request !== latest) return;
      if (!answer.ok) return set({ loading: false, error: answer.error });
      const keepView = !switching && get().viewport;
      set({
        loading: false,
        error: undefined,
        data: answer.value,
        viewport: keepView ? get().viewport : fitViewport(answer.value),
      });
    },
    async select(label) {
      const serverId = get().serverId;
      set({ selected: label, detail: undefined });
      if (!label || !serverId) return;
      const answer = await api.call('sessions.get', { serverId, label });
      if (get().selected !== label) return;
      if (answer.ok) set({ detail: answer.value });
      else set({ error: answer.error });
    },
    zoom(factor, aroundMs) {
      const v = get().viewport;
      if (!v) return;
      const at = aroundMs ?? (v.fromMs + v.toMs) / 2;
      const span = Math.max(MIN_SPAN, (v.toMs - v.fromMs) * factor);
      const ratio = (at - v.fromMs) / (v.toMs - v.fromMs);
      set({ viewport: { fromMs: at - span * ratio, toMs: at + span * (1 - ratio) } });
    },
    pan(fraction) {
      const v = get().viewport;
      if (!v) return;
      const shift = (v.toMs - v.fromMs) * fraction;
      set({ viewport: { fromMs: v.fromMs + shift, toMs: v.toMs + shift } });
    },
    fit() {
      set({ viewport: fitViewport(get().data) });
    },
    setDoomed(labels) {
      set({ doomed: labels });
    },
  }));
  api.on('sessions.changed', ({ serverId }) => {
    if (store.getState().serverId === serverId) void store.getState().load(serverId);
  });
  return store;
}

export type TimelineStore = ReturnType<typeof createTimelineStore>;
