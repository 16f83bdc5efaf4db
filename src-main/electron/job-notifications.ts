import type { JobNotice } from '../api/contract';
import type { EventHub } from '../api/events';

/**
 * Desktop notifications from the Electron main process when a job ends: long backups are left
 * to run while the administrator does something else. The console announces each end once as
 * `job.notice` (api/job-notice.ts); `show` is Electron's Notification in main.ts, a recorder in
 * the unit test.
 */
export function notifyJobEnds(events: EventHub, show: (notice: JobNotice) => void): () => void {
  return events.subscribe((message) => {
    if (message.name === 'job.notice') show(message.payload);
  });
}
