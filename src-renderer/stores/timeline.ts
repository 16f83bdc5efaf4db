import { create } from 'zustand';
import type {
  ApiError,
  MailvaultApi,
  ScheduleRun,
  SessionDetail,
  SessionRow,
  TimelineGap,
  TimelineWire,
  TimeRange,
} from '../../src-main/api/contract';
import { decodeSessions } from '../../src-main/api/session-columns';

export interface Viewport {
  fromMs: number;
  toMs: number;
}

/** A server's timeline as the console holds it: the lean session rows, and the schedule when read. */
export interface TimelineData {
  serverId: string;
  sessions: SessionRow[];
  coverage: TimeRange[];
  gaps: TimelineGap[];
  /** The schedule's next runs and missed runs (schedules.get, asked for after the sessions). */
  planned?: ScheduleRun[];
  missed?: ScheduleRun[];
}

/** One server's lane on the all-servers timeline. */
export interface Lane {
  serverId: string;
  name: string;
  data?: TimelineData;
  error?: ApiError;
}

export interface TimelineState {
  /** One server's timeline, or every server's, one lane each. */
  scope: 'server' | 'all';
  serverId?: string;
  data?: TimelineData;
  lanes: Lane[];
  loading: boolean;
  error?: ApiError;
  viewport?: Viewport;
  /** The view is the fitted one (not zoomed or panned since): it follows the schedule's arrival. */
  fitted: boolean;
  selected?: string;
  /** The server of the selected session (on the all-servers timeline, any lane's). */
  selectedServer?: string;
  detail?: SessionDetail;
  /** Labels shown as "will be deleted" (a prune preview). */
  doomed: string[];
  load(serverId: string): Promise<void>;
  /** Every listed server's timeline, one lane each, on one axis. */
  loadAll(servers: { id: string; name: string }[]): Promise<void>;
  select(label: string | undefined, serverId?: string): Promise<void>;
  /** factor < 1 zooms in; around a time (default: the middle). */
  zoom(factor: number, aroundMs?: number): void;
  /** Moves by a fraction of the visible span (negative: earlier). */
  pan(fraction: number): void;
  fit(): void;
  setDoomed(labels: string[]): void;
}

const MIN_SPAN = 20_000;
const HOUR = 3_600_000;

/** A timeline from sessions.list's lean answer. */
export function timelineOf(wire: TimelineWire): TimelineData {
  return {
    serverId: wire.serverId,
    sessions: decodeSessions(wire.sessions),
    coverage: wire.coverage,
    gaps: wire.gaps,
  };
}

/** The whole of one or more timelines, with a margin, or the last day when there is nothing. */
export function fitViewport(data: TimelineData | TimelineData[] | undefined, now = Date.now()): Viewport {
  const all = data === undefined ? [] : Array.isArray(data) ? data : [data];
  let from = Infinity;
  let to = now;
  for (const d of all) {
    // The schedule's next runs are in view too, once known.
    for (const r of d.planned ?? []) to = Math.max(to, r.atMs);
    if (d.sessions.length === 0) continue;
    from = Math.min(from, d.sessions[0]!.startMs);
    for (const s of d.sessions) to = Math.max(to, s.endMs ?? now);
  }
  if (from === Infinity) return { fromMs: now - 24 * HOUR, toMs: now + HOUR };
  // A margin of a tenth of the span each side (at least 20 s): the sessions fill the view.
  const margin = Math.max((to - from) * 0.1, 20_000);
  return { fromMs: from - margin, toMs: to + margin };
}

export function createTimelineStore(api: MailvaultApi) {
  let latest = 0;
  /**
   * The schedule (schedules.get: next and missed runs) is asked for after the sessions, apart
   * from the lean list's hot path: it may be an SSH round trip to the server's crontab.
   */
  async function loadPlan(serverId: string, request: number): Promise<void> {
    const answer = await api.call('schedules.get', { serverId });
    if (request !== latest || !answer.ok) return;
    const plan = { planned: answer.value.next, missed: answer.value.missed };
    const s = store.getState();
    if (s.scope === 'server' && s.data?.serverId === serverId)
      store.setState({ data: { ...s.data, ...plan } });
    if (s.scope === 'all')
      store.setState({
        lanes: s.lanes.map((l) =>
          l.serverId === serverId && l.data ? { ...l, data: { ...l.data, ...plan } } : l,
        ),
      });
    if (store.getState().fitted) store.getState().fit();
  }
  const store = create<TimelineState>()((set, get) => ({
    scope: 'server',
    lanes: [],
    fitted: false,
    loading: false,
    doomed: [],
    async load(serverId) {
      const request = ++latest;
      const switching = get().scope !== 'server' || get().serverId !== serverId;
      set({
        scope: 'server',
        serverId,
        loading: true,
        ...(switching
          ? {
              data: undefined,
              lanes: [],
              selected: undefined,
              selectedServer: undefined,
              detail: undefined,
              viewport: undefined,
              doomed: [],
            }
          : {}),
      });
      const answer = await api.call('sessions.list', { serverId });
      if (request !== latest) return;
      if (!answer.ok) return set({ loading: false, error: answer.error });
      const keepView = !switching && get().viewport;
      const before = get().data;
      const data = timelineOf(answer.value);
      // A reload keeps the plan already shown until the new one comes.
      if (before?.serverId === serverId)
        Object.assign(data, { planned: before.planned, missed: before.missed });
      set({
        loading: false,
        error: undefined,
        data,
        viewport: keepView ? get().viewport : fitViewport(data),
        fitted: keepView ? get().fitted : true,
      });
      void loadPlan(serverId, request);
    },
    async loadAll(servers) {
      const request = ++latest;
      const switching = get().scope !== 'all';
      set({
        scope: 'all',
        loading: true,
        ...(switching
          ? { data: undefined, selected: undefined, selectedServer: undefined, detail: undefined, doomed: [] }
          : {}),
      });
      const lanes = await Promise.all(
        servers.map(async (server): Promise<Lane> => {
          const answer = await api.call('sessions.list', { serverId: server.id });
          const old = get().lanes.find((l) => l.serverId === server.id)?.data;
          if (!answer.ok) return { serverId: server.id, name: server.name, error: answer.error };
          const data = timelineOf(answer.value);
          if (old) Object.assign(data, { planned: old.planned, missed: old.missed });
          return { serverId: server.id, name: server.name, data };
        }),
      );
      if (request !== latest) return;
      const keepView = !switching && get().viewport;
      const datas = lanes.flatMap((l) => (l.data ? [l.data] : []));
      set({
        loading: false,
        error: undefined,
        lanes,
        viewport: keepView ? get().viewport : fitViewport(datas),
        fitted: keepView ? get().fitted : true,
      });
      for (const s of servers) void loadPlan(s.id, request);
    },
    async select(label, serverId) {
      const server = serverId ?? get().serverId;
      set({ selected: label, selectedServer: label ? server : undefined, detail: undefined });
      if (!label || !server) return;
      const answer = await api.call('sessions.get', { serverId: server, label });
      if (get().selected !== label || get().selectedServer !== server) return;
      if (answer.ok) set({ detail: answer.value });
      else set({ error: answer.error });
    },
    zoom(factor, aroundMs) {
      const v = get().viewport;
      if (!v) return;
      const at = aroundMs ?? (v.fromMs + v.toMs) / 2;
      const span = Math.max(MIN_SPAN, (v.toMs - v.fromMs) * factor);
      const ratio = (at - v.fromMs) / (v.toMs - v.fromMs);
      set({ viewport: { fromMs: at - span * ratio, toMs: at + span * (1 - ratio) }, fitted: false });
    },
    pan(fraction) {
      const v = get().viewport;
      if (!v) return;
      const shift = (v.toMs - v.fromMs) * fraction;
      set({ viewport: { fromMs: v.fromMs + shift, toMs: v.toMs + shift }, fitted: false });
    },
    fit() {
      const s = get();
      set({
        viewport: fitViewport(s.scope === 'all' ? s.lanes.flatMap((l) => (l.data ? [l.data] : [])) : s.data),
        fitted: true,
      });
    },
    setDoomed(labels) {
      set({ doomed: labels });
    },
  }));
  api.on('sessions.changed', ({ serverId }) => {
    const s = store.getState();
    if (s.scope === 'server' && s.serverId === serverId) void s.load(serverId);
    if (s.scope === 'all' && s.lanes.some((l) => l.serverId === serverId))
      void s.loadAll(s.lanes.map((l) => ({ id: l.serverId, name: l.name })));
  });
  api.on('schedules.changed', ({ serverId }) => {
    const s = store.getState();
    if ((s.scope === 'server' && s.serverId === serverId) || s.lanes.some((l) => l.serverId === serverId))
      void loadPlan(serverId, latest);
  });
  return store;
}

export type TimelineStore = ReturnType<typeof createTimelineStore>;
