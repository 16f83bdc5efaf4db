import { create } from 'zustand';
import type { AppInfo, JobNotice, MailvaultApi } from '../../src-main/api/contract';

/** What the browser offers (window.Notification), as far as this store uses it. */
export interface BrowserNotifications {
  readonly permission: 'default' | 'granted' | 'denied';
  requestPermission(): Promise<'default' | 'granted' | 'denied'>;
  new (title: string, options?: { body?: string; tag?: string; requireInteraction?: boolean }): unknown;
}

export interface Toast extends JobNotice {
  id: number;
}

export interface NotificationsState {
  toasts: Toast[];
  /** The browser's permission; `unsupported` without the API, `electron` where main notifies. */
  permission: 'default' | 'granted' | 'denied' | 'unsupported' | 'electron';
  ask(): Promise<void>;
  dismiss(id: number): void;
}

const TOAST_MS = 10_000;

/**
 * Job ends (`job.notice`, pushed once per job): in the Electron window the main process shows a
 * desktop notification already, so nothing here; in the web console the browser's notification
 * when the administrator allowed it, else an in-app toast (a failure stays until dismissed).
 */
export function createNotificationsStore(
  api: MailvaultApi,
  shell: () => AppInfo['shell'] | undefined,
  browser: BrowserNotifications | undefined = (globalThis as { Notification?: BrowserNotifications })
    .Notification,
) {
  let nextId = 0;
  const permissionNow = (): NotificationsState['permission'] =>
    shell() === 'electron' ? 'electron' : browser ? browser.permission : 'unsupported';
  const store = create<NotificationsState>()((set, get) => ({
    toasts: [],
    permission: permissionNow(),
    async ask() {
      if (!browser || shell() === 'electron') return;
      set({ permission: await browser.requestPermission() });
    },
    dismiss(id) {
      set({ toasts: get().toasts.filter((t) => t.id !== id) });
    },
  }));
  api.on('job.notice', (notice) => {
    const permission = permissionNow();
    store.setState({ permission });
    if (permission === 'electron') return;
    if (permission === 'granted' && browser) {
      new browser(notice.title, { body: notice.body, tag: notice.jobId, requireInteraction: notice.urgent });
      return;
    }
    const toast = { ...notice, id: ++nextId };
    store.setState((s) => ({ toasts: [...s.toasts, toast].slice(-5) }));
    if (!notice.urgent) setTimeout(() => store.getState().dismiss(toast.id), TOAST_MS);
  });
  return store;
}

export type NotificationsStore = ReturnType<typeof createNotificationsStore>;
