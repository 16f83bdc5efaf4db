import { create } from 'zustand';
import type { ApiError, JobEvent, JobSnapshot, MailvaultApi } from '../../src-main/api/contract';

export interface JobsState {
  jobs: Record<string, JobSnapshot>;
  error?: ApiError;
  /** Asks for every job's snapshot: at start, after a reload, after the event stream dropped. */
  resync(): Promise<void>;
  apply(event: JobEvent): void;
  start(
    serverId: string,
    operation: Exclude<JobSnapshot['operation'], 'restore.account' | 'standby.failover'>,
    accounts?: 'all' | string[],
  ): Promise<JobSnapshot | undefined>;
  /** zmrestore -ca as a job: the account as it was at toMs, into <prefix><address>. */
  restore(serverId: string, account: string, toMs: number, prefix: string): Promise<JobSnapshot | undefined>;
  abort(jobId: string): Promise<void>;
}

/**
 * Jobs as the main side reports them. Events are numbered per job: the next one in sequence is
 * applied; an old one is ignored; after a gap (a missed event) the job's snapshot is fetched.
 */
export function createJobsStore(api: MailvaultApi) {
  const fetching = new Set<string>();
  const store = create<JobsState>()((set, get) => {
    const put = (job: JobSnapshot) =>
      set((s) => {
        const known = s.jobs[job.id];
        return known && known.seq >= job.seq ? s : { jobs: { ...s.jobs, [job.id]: job } };
      });
    const refetch = async (jobId: string) => {
      if (fetching.has(jobId)) return;
      fetching.add(jobId);
      try {
        const answer = await api.call('jobs.get', { jobId });
        if (answer.ok) put(answer.value);
        else set({ error: answer.error });
      } finally {
        fetching.delete(jobId);
      }
    };
    return {
      jobs: {},
      async resync() {
        const answer = await api.call('jobs.list', {});
        if (!answer.ok) return set({ error: answer.error });
        for (const job of answer.value) put(job);
      },
      apply(event) {
        if (event.kind === 'started' || event.kind === 'finished') return put(event.job);
        const known = get().jobs[event.jobId];
        if (known && event.seq <= known.seq) return;
        if (!known || event.seq !== known.seq + 1) return void refetch(event.jobId);
        const next: JobSnapshot = { ...known, seq: event.seq };
        if (event.kind === 'label') next.label = event.label;
        else if (event.kind === 'progress') next.progress = event.progress;
        else if (event.kind === 'aborting') next.aborting = true;
        set((s) => ({ jobs: { ...s.jobs, [next.id]: next } }));
      },
      async start(serverId, operation, accounts) {
        const answer = await api.call('jobs.start', {
          serverId,
          operation,
          ...(accounts ? { accounts } : {}),
        });
        if (!answer.ok) {
          set({ error: answer.error });
          return undefined;
        }
        set({ error: undefined });
        put(answer.value);
        return answer.value;
      },
      async restore(serverId, account, toMs, prefix) {
        const answer = await api.call('restore.start', { serverId, account, toMs, prefix });
        if (!answer.ok) {
          set({ error: answer.error });
          return undefined;
        }
        set({ error: undefined });
        put(answer.value);
        return answer.value;
      },
      async abort(jobId) {
        const answer = await api.call('jobs.abort', { jobId });
        if (answer.ok) put(answer.value);
        else set({ error: answer.error });
      },
    };
  });
  api.on('job.event', (event) => store.getState().apply(event));
  return store;
}

export type JobsStore = ReturnType<typeof createJobsStore>;

/** Newest first. */
export function jobList(jobs: Record<string, JobSnapshot>): JobSnapshot[] {
  return Object.values(jobs).sort((a, b) => b.startedAt - a.startedAt);
}
