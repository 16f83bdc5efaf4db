import { create } from 'zustand';
import type { ApiError, MailvaultApi, ScheduleEntryInput, ServerSchedule } from '../../src-main/api/contract';

export interface ScheduleState {
  serverId?: string;
  data?: ServerSchedule;
  status: 'idle' | 'loading' | 'ready' | 'failed';
  saving: boolean;
  error?: ApiError;
  load(serverId: string): Promise<void>;
  /** Installs these entries in place of the schedule; true when it was installed. */
  save(entries: ScheduleEntryInput[]): Promise<boolean>;
  remove(): Promise<void>;
}

/**
 * A server's schedule as the main side reads it from its crontab (schedules.get). An answer for
 * a server no longer shown is dropped; a change made elsewhere (schedules.changed) or a finished
 * job (a new attempt may be on record) reloads it.
 */
export function createScheduleStore(api: MailvaultApi) {
  let latest = 0;
  const store = create<ScheduleState>()((set, get) => {
    const answerFor = (
      serverId: string,
      request: number,
      answer: Awaited<ReturnType<MailvaultApi['call']>>,
    ) => {
      if (request !== latest || get().serverId !== serverId) return false;
      if (!answer.ok) set({ status: get().data ? 'ready' : 'failed', error: answer.error, saving: false });
      else set({ status: 'ready', data: answer.value as ServerSchedule, error: undefined, saving: false });
      return answer.ok;
    };
    return {
      status: 'idle',
      saving: false,
      async load(serverId) {
        const request = ++latest;
        if (serverId !== get().serverId)
          set({ serverId, data: undefined, status: 'loading', error: undefined });
        answerFor(serverId, request, await api.call('schedules.get', { serverId }));
      },
      async save(entries) {
        const { serverId } = get();
        if (!serverId) return false;
        const request = ++latest;
        set({ saving: true, error: undefined });
        return answerFor(serverId, request, await api.call('schedules.save', { serverId, entries }));
      },
      async remove() {
        const { serverId } = get();
        if (!serverId) return;
        const request = ++latest;
        set({ saving: true, error: undefined });
        answerFor(serverId, request, await api.call('schedules.remove', { serverId }));
      },
    };
  });
  const reload = (serverId: string) => {
    const state = store.getState();
    if (state.serverId === serverId && !state.saving) void state.load(serverId);
  };
  api.on('schedules.changed', ({ serverId }) => reload(serverId));
  api.on('job.notice', ({ serverId }) => reload(serverId));
  return store;
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>;
