import { create } from 'zustand';
import type {
  ApiError,
  JobSnapshot,
  MailvaultApi,
  StandbyFailoverPreview,
  StandbyStatus,
} from '../../src-main/api/contract';

/** The wizard's steps: choose the set, confirm with the data-loss window in view, then the job. */
export type WizardStep = 'closed' | 'choose' | 'confirm' | 'job';

export interface StandbyState {
  serverId?: string;
  status?: StandbyStatus;
  /** The server has no standby named yet: the screen offers to name one. */
  unlinked: boolean;
  busy?: 'status' | 'link' | 'preview' | 'start';
  error?: ApiError;
  step: WizardStep;
  preview?: StandbyFailoverPreview;
  /** The failover job started from the wizard (its progress and report are in the jobs store). */
  jobId?: string;
  load(serverId: string): Promise<void>;
  link(standbyServerId: string | null, dir?: string): Promise<void>;
  openWizard(): void;
  closeWizard(): void;
  /** Step 1 → 2: reads the preview (data-loss window up to failedAtMs, or now). */
  review(failedAtMs?: number): Promise<void>;
  back(): void;
  /** Step 2 → 3: starts the failover job; `confirm` is the standby's name as typed. */
  start(confirm: string, failedAtMs?: number): Promise<JobSnapshot | undefined>;
}

/** A server's standby: its sets and lag, and the failover wizard's state. */
export function createStandbyStore(api: MailvaultApi) {
  const store = create<StandbyState>()((set, get) => ({
    unlinked: false,
    step: 'closed',
    async load(serverId) {
      if (get().serverId !== serverId)
        set({
          serverId,
          status: undefined,
          unlinked: false,
          error: undefined,
          step: 'closed',
          preview: undefined,
          jobId: undefined,
        });
      set({ busy: get().busy ?? 'status' });
      const answer = await api.call('standby.status', { serverId });
      if (get().serverId !== serverId) return;
      if (get().busy === 'status') set({ busy: undefined });
      if (!answer.ok) return set({ error: answer.error });
      if ('unlinked' in answer.value) return set({ status: undefined, unlinked: true, error: undefined });
      set({ status: answer.value, unlinked: false, error: undefined });
    },
    async link(standbyServerId, dir) {
      const { serverId } = get();
      if (!serverId) return;
      set({ busy: 'link', error: undefined });
      const answer = await api.call('standby.link', {
        serverId,
        link: standbyServerId ? { standbyServerId, ...(dir ? { dir } : {}) } : null,
      });
      set({ busy: undefined });
      if (!answer.ok) return set({ error: answer.error });
      await get().load(serverId);
    },
    openWizard() {
      set({ step: 'choose', preview: undefined, jobId: undefined, error: undefined });
    },
    closeWizard() {
      set({ step: 'closed', preview: undefined, error: undefined });
    },
    async review(failedAtMs) {
      const { serverId } = get();
      if (!serverId) return;
      set({ busy: 'preview', error: undefined });
      const answer = await api.call('standby.failover.preview', {
        serverId,
        ...(failedAtMs !== undefined ? { failedAtMs } : {}),
      });
      if (get().serverId !== serverId) return;
      set({ busy: undefined });
      if (!answer.ok) return set({ error: answer.error });
      set({ preview: answer.value, step: 'confirm' });
    },
    back() {
      if (get().step === 'confirm') set({ step: 'choose', error: undefined });
    },
    async start(confirm, failedAtMs) {
      const { serverId, step } = get();
      if (!serverId || step !== 'confirm') return undefined;
      set({ busy: 'start', error: undefined });
      const answer = await api.call('standby.failover', {
        serverId,
        confirm,
        ...(failedAtMs !== undefined ? { failedAtMs } : {}),
      });
      set({ busy: undefined });
      if (!answer.ok) {
        set({ error: answer.error });
        return undefined;
      }
      set({ step: 'job', jobId: answer.value.id });
      return answer.value;
    },
  }));
  // The standby's records change as snapshots arrive and after a failover: re-read on change.
  api.on('servers.changed', () => {
    const { serverId, busy } = store.getState();
    if (serverId && !busy) void store.getState().load(serverId);
  });
  api.on('job.event', (event) => {
    const { serverId, jobId } = store.getState();
    if (serverId && event.jobId === jobId && event.kind === 'finished') void store.getState().load(serverId);
  });
  return store;
}

export type StandbyStore = ReturnType<typeof createStandbyStore>;
