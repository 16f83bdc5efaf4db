import { create } from 'zustand';
import type { ApiError, MailvaultApi, PrunePlan, PruneRule } from '../../src-main/api/contract';

export interface PruneState {
  serverId?: string;
  rule: PruneRule;
  /** The plan shown for confirmation; it is for `rule` on `serverId` only. */
  plan?: PrunePlan;
  phase: 'idle' | 'previewing' | 'ready' | 'deleting' | 'done';
  /** What the last delete removed. */
  deleted?: PrunePlan;
  error?: ApiError;
  setRule(rule: PruneRule): void;
  setServer(serverId: string): void;
  preview(): Promise<void>;
  confirm(): Promise<void>;
}

/**
 * Prune is preview-then-confirm: a changed rule or server drops the plan, so what is confirmed is
 * always what was shown.
 */
export function createPruneStore(api: MailvaultApi, onPlan?: (labels: string[]) => void) {
  const store = create<PruneState>()((set, get) => ({
    rule: { kind: 'age', amount: 30, unit: 'days' },
    phase: 'idle',
    setRule(rule) {
      set({ rule, plan: undefined, phase: 'idle', error: undefined });
      onPlan?.([]);
    },
    setServer(serverId) {
      if (serverId === get().serverId) return;
      set({ serverId, plan: undefined, phase: 'idle', error: undefined, deleted: undefined });
      onPlan?.([]);
    },
    async preview() {
      const { serverId, rule } = get();
      if (!serverId) return;
      set({ phase: 'previewing', error: undefined, deleted: undefined });
      const answer = await api.call('prune.preview', { serverId, rule });
      if (get().rule !== rule || get().serverId !== serverId) return;
      if (!answer.ok) {
        set({ phase: 'idle', error: answer.error, plan: undefined });
        onPlan?.([]);
        return;
      }
      set({ phase: 'ready', plan: answer.value });
      onPlan?.(answer.value.sessions);
    },
    async confirm() {
      const { serverId, rule, plan } = get();
      if (!serverId || !plan) return;
      set({ phase: 'deleting', error: undefined });
      const answer = await api.call('prune.run', { serverId, rule });
      if (!answer.ok) return set({ phase: 'ready', error: answer.error });
      set({ phase: 'done', deleted: answer.value, plan: undefined });
      onPlan?.([]);
    },
  }));
  return store;
}

export type PruneStore = ReturnType<typeof createPruneStore>;
