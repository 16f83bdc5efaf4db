import { create } from 'zustand';
import type { ApiError, AppInfo, MailvaultApi, ServerSummary } from '../../src-main/api/contract';

export interface ConsoleState {
  info?: AppInfo;
  servers: ServerSummary[];
  /** `loading` only until the first answer; later refreshes keep the list on screen. */
  status: 'loading' | 'ready' | 'failed';
  error?: ApiError;
  load(): Promise<void>;
}

/** App info and the server list, refreshed whenever the main side says servers changed. */
export function createConsoleStore(api: MailvaultApi) {
  let latest = 0;
  const store = create<ConsoleState>()((set) => ({
    servers: [],
    status: 'loading',
    async load() {
      const request = ++latest;
      const [info, servers] = await Promise.all([api.call('app.info', {}), api.call('servers.list', {})]);
      if (request !== latest) return; // a newer load is under way; its answer wins
      if (!servers.ok) set({ status: 'failed', error: servers.error });
      else
        set({
          status: 'ready',
          error: undefined,
          servers: servers.value,
          info: info.ok ? info.value : undefined,
        });
    },
  }));
  api.on('servers.changed', () => void store.getState().load());
  return store;
}

export type ConsoleStore = ReturnType<typeof createConsoleStore>;
