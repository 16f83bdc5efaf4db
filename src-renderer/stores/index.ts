import type { MailvaultApi } from '../../src-main/api/contract';
import { createConsoleStore } from './console';
import { createJobsStore } from './jobs';
import { createLogStore } from './log';
import { createNotificationsStore } from './notifications';
import { createPruneStore } from './prune';
import { createRestoreStore } from './restore';
import { createScheduleStore } from './schedule';
import { createStandbyStore } from './standby';
import { createTimelineStore } from './timeline';
import { createUiStore } from './ui';

/** The console's small stores, each fed by the API and its events. */
export function createStores(api: MailvaultApi, hash = '', remember?: (hash: string) => void) {
  const timeline = createTimelineStore(api);
  const consoleStore = createConsoleStore(api);
  return {
    api,
    console: consoleStore,
    jobs: createJobsStore(api),
    timeline,
    prune: createPruneStore(api, (labels) => timeline.getState().setDoomed(labels)),
    restore: createRestoreStore(api),
    standby: createStandbyStore(api),
    ui: createUiStore(hash, remember),
    schedule: createScheduleStore(api),
    log: createLogStore(api),
    notifications: createNotificationsStore(api, () => consoleStore.getState().info?.shell),
  };
}

export type Stores = ReturnType<typeof createStores>;
