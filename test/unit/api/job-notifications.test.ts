import { describe, expect, it } from 'vitest';
import type { JobSnapshot } from '../../../src-main/api/contract';
import { createEventHub } from '../../../src-main/api/events';
import { announceJobEnds, jobNotice, type JobNotice } from '../../../src-main/api/job-notice';
import { notifyJobEnds } from '../../../src-main/electron/job-notifications';

/** The Electron main process's desktop notifications, with Notification replaced by a recorder. */
const job = (over: Partial<JobSnapshot> = {}): JobSnapshot => ({
  id: 'job-1',
  seq: 9,
  operation: 'backup.full',
  serverId: 'mail1',
  serverName: 'Mail 1',
  state: 'succeeded',
  startedAt: 0,
  endedAt: 125_000,
  label: 'full-20261201.010000.000',
  progress: null,
  sessions: [
    {
      label: 'full-20261201.010000.000',
      status: 'completed',
      accounts: 12,
      accountErrors: 0,
      bytes: 1,
      errors: [],
    },
  ],
  warnings: [],
  ...over,
});

describe('desktop notifications (Electron main)', () => {
  it('one per job that ends, with what and how it ended; progress is not notified', () => {
    const events = createEventHub();
    const shown: JobNotice[] = [];
    announceJobEnds(events);
    const stop = notifyJobEnds(events, (n) => shown.push(n));
    events.emit('job.event', {
      jobId: 'job-1',
      seq: 1,
      at: 0,
      kind: 'started',
      job: job({ state: 'running' }),
    });
    events.emit('job.event', { jobId: 'job-1', seq: 9, at: 1, kind: 'finished', job: job() });
    events.emit('job.event', { jobId: 'job-1', seq: 9, at: 1, kind: 'finished', job: job() });
    const failed = job({
      id: 'job-2',
      operation: 'backup.incremental',
      state: 'failed',
      error: { code: 'unreachable', message: 'ssh: connect ECONNREFUSED 10.0.0.5:22' },
    });
    events.emit('job.event', { jobId: 'job-2', seq: 3, at: 2, kind: 'finished', job: failed });
    expect(shown).toEqual([
      {
        jobId: 'job-1',
        serverId: 'mail1',
        state: 'succeeded',
        title: 'Full backup of Mail 1 finished',
        body: 'full-20261201.010000.000: 12 account(s) in 2 min 5 s',
        urgent: false,
      },
      {
        jobId: 'job-2',
        serverId: 'mail1',
        state: 'failed',
        title: 'Incremental backup of Mail 1 failed',
        body: 'ssh: connect ECONNREFUSED 10.0.0.5:22',
        urgent: true,
      },
    ]);
    stop();
    events.emit('job.event', { jobId: 'job-3', seq: 1, at: 3, kind: 'finished', job: job({ id: 'job-3' }) });
    expect(shown).toHaveLength(2);
  });

  it('says aborted, and accounts with errors', () => {
    expect(jobNotice(job({ state: 'aborted' }))).toMatchObject({ title: 'Full backup of Mail 1 aborted' });
    const withErrors = job({
      sessions: [
        { label: 'x', status: 'completed with errors', accounts: 5, accountErrors: 2, bytes: 1, errors: [] },
      ],
    });
    expect(jobNotice(withErrors).body).toContain('5 account(s), 2 with errors');
  });
});
