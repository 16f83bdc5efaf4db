import type { ApiEvents, JobNotice, JobSnapshot } from './contract';
import type { EventHub } from './events';

/**
 * What a desktop notification says when a job ends: a title and a short body, pushed once per job
 * as the `job.notice` event. The Electron main process shows it with Notification, the web
 * console's renderer with the browser's (or as a toast), so the words are the same in both.
 */
export type { JobNotice } from './contract';

export function announceJobEnds(events: EventHub): () => void {
  const told = new Set<string>();
  return events.subscribe((message) => {
    if (message.name !== 'job.event') return;
    const event = message.payload as ApiEvents['job.event'];
    if (event.kind !== 'finished' || told.has(event.jobId)) return;
    told.add(event.jobId);
    events.emit('job.notice', jobNotice(event.job));
  });
}

const WHAT: Partial<Record<string, string>> = {
  'backup.full': 'Full backup',
  'backup.incremental': 'Incremental backup',
  'restore.account': 'Restore',
  'standby.failover': 'Failover',
};

/** "Full backup of Mail 1": how notifications and the log name a job. */
export function jobWhat(job: Pick<JobSnapshot, 'operation' | 'serverName'>): string {
  return `${WHAT[job.operation] ?? job.operation} of ${job.serverName}`;
}

export function jobNotice(job: JobSnapshot): JobNotice {
  const what = jobWhat(job);
  const took = job.endedAt ? ` in ${duration(job.endedAt - job.startedAt)}` : '';
  const ids = { jobId: job.id, serverId: job.serverId, state: job.state };
  if (job.state === 'succeeded') {
    const errors = job.sessions.reduce((n, s) => n + s.accountErrors, 0);
    const accounts = job.sessions.reduce((n, s) => n + s.accounts, 0);
    const detail = job.sessions.length
      ? `${accounts} account(s)${errors ? `, ${errors} with errors` : ''}`
      : job.restored
        ? `${job.restored.filter((r) => r.status === 'restored').length} account(s) restored`
        : 'done';
    return {
      ...ids,
      title: `${what} finished`,
      body: `${job.label ?? ''}${job.label ? ': ' : ''}${detail}${took}`,
      urgent: false,
    };
  }
  if (job.state === 'aborted')
    return { ...ids, title: `${what} aborted`, body: `Stopped${took}.`, urgent: false };
  return {
    ...ids,
    title: `${what} failed`,
    body: job.error?.message ?? job.sessions.find((s) => s.errors.length)?.errors[0] ?? 'See the log view.',
    urgent: true,
  };
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
