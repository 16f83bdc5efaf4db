import { create } from 'zustand';
import type { ApiError, LogLevel, LogLine, MailvaultApi } from '../../src-main/api/contract';

export const MAX_LOG_LINES = 2000;

export interface LogState {
  /** Newest first. */
  lines: LogLine[];
  filter: { serverId?: string; level?: LogLevel };
  error?: ApiError;
  load(): Promise<void>;
  setFilter(filter: LogState['filter']): void;
}

const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };

/** The lines a filter keeps: that server's, at that level or worse. */
export function filterLines(lines: LogLine[], filter: LogState['filter']): LogLine[] {
  return lines.filter(
    (l) =>
      (!filter.serverId || l.serverId === filter.serverId) &&
      (!filter.level || RANK[l.level] >= RANK[filter.level]),
  );
}

/** The console's log (log.list once, then each log.line as it comes), filtered on this side. */
export function createLogStore(api: MailvaultApi) {
  const store = create<LogState>()((set, get) => ({
    lines: [],
    filter: {},
    async load() {
      const answer = await api.call('log.list', {});
      if (!answer.ok) return set({ error: answer.error });
      // Lines pushed while the list was on its way are kept (merged by seq).
      const known = new Set(answer.value.map((l) => l.seq));
      const newer = get().lines.filter((l) => !known.has(l.seq));
      const lines = [...newer, ...answer.value].sort((a, b) => b.seq - a.seq).slice(0, MAX_LOG_LINES);
      set({ lines, error: undefined });
    },
    setFilter(filter) {
      set({ filter });
    },
  }));
  api.on('log.line', (line) =>
    store.setState((s) =>
      s.lines.some((l) => l.seq === line.seq) ? s : { lines: [line, ...s.lines].slice(0, MAX_LOG_LINES) },
    ),
  );
  return store;
}

export type LogStore = ReturnType<typeof createLogStore>;
