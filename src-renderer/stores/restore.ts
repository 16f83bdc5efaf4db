import { create } from 'zustand';
import type {
  ApiError,
  MailvaultApi,
  RestoreAccount,
  RestorePlanInfo,
  RestoreQuery,
} from '../../src-main/api/contract';

export interface RestoreState {
  serverId?: string;
  accounts: RestoreAccount[];
  account?: string;
  query?: RestoreQuery;
  plan?: RestorePlanInfo;
  busy?: 'accounts' | 'query' | 'plan';
  error?: ApiError;
  loadAccounts(serverId: string): Promise<void>;
  setAccount(email: string): void;
  find(fromMs: number | undefined, toMs: number): Promise<void>;
  planTo(toMs: number): Promise<void>;
}

/** The restore planner: an account's restore points in a window, then the plan for one instant. */
export function createRestoreStore(api: MailvaultApi) {
  const store = create<RestoreState>()((set, get) => ({
    accounts: [],
    async loadAccounts(serverId) {
      if (get().serverId !== serverId)
        set({
          serverId,
          accounts: [],
          account: undefined,
          query: undefined,
          plan: undefined,
          error: undefined,
        });
      set({ busy: 'accounts' });
      const answer = await api.call('restore.accounts', { serverId });
      if (get().serverId !== serverId) return;
      if (!answer.ok) return set({ busy: undefined, error: answer.error });
      const account = get().account ?? answer.value[0]?.email;
      set({ busy: undefined, accounts: answer.value, account });
    },
    setAccount(email) {
      set({ account: email, query: undefined, plan: undefined, error: undefined });
    },
    async find(fromMs, toMs) {
      const { serverId, account } = get();
      if (!serverId || !account) return;
      set({ busy: 'query', error: undefined, plan: undefined });
      const answer = await api.call('restore.query', {
        serverId,
        account,
        toMs,
        ...(fromMs !== undefined ? { fromMs } : {}),
      });
      if (get().account !== account) return;
      if (!answer.ok) return set({ busy: undefined, error: answer.error, query: undefined });
      set({ busy: undefined, query: answer.value });
    },
    async planTo(toMs) {
      const { serverId, account } = get();
      if (!serverId || !account) return;
      set({ busy: 'plan', error: undefined });
      const answer = await api.call('restore.plan', { serverId, account, toMs });
      if (get().account !== account) return;
      if (!answer.ok) return set({ busy: undefined, error: answer.error, plan: undefined });
      set({ busy: undefined, plan: answer.value });
    },
  }));
  // New sessions may hold the account: what was found is stale.
  api.on('sessions.changed', ({ serverId }) => {
    if (store.getState().serverId === serverId) void store.getState().loadAccounts(serverId);
  });
  return store;
}

export type RestoreStore = ReturnType<typeof createRestoreStore>;
