import { create } from 'zustand';

export type Screen = 'servers' | 'timeline' | 'backup' | 'prune' | 'restore' | 'standby' | 'schedule' | 'log';
export type Theme = 'light' | 'dark' | 'system';

export interface UiState {
  screen: Screen;
  /** The server the timeline, backup and prune screens are about. */
  serverId?: string;
  theme: Theme;
  show(screen: Screen, serverId?: string): void;
  setTheme(theme: Theme): void;
}

const SCREENS: Screen[] = ['servers', 'timeline', 'backup', 'prune', 'restore', 'standby', 'schedule', 'log'];

/** Which screen and server are shown; mirrored in the URL hash so a reload comes back to it. */
export function createUiStore(initialHash = '', remember?: (hash: string) => void) {
  // `#timeline/mail1`, or `#token=…&view=timeline/mail1` as a printed address may carry it.
  const raw = initialHash.replace(/^#/, '');
  const view = raw.includes('=') ? (new URLSearchParams(raw).get('view') ?? '') : raw;
  const [screen, serverId] = view.split('/');
  const store = create<UiState>()((set) => ({
    screen: SCREENS.includes(screen as Screen) ? (screen as Screen) : 'servers',
    serverId: serverId ? decodeURIComponent(serverId) : undefined,
    theme: 'system',
    show(next, id) {
      set((s) => ({ screen: next, serverId: id ?? s.serverId }));
    },
    setTheme(theme) {
      set({ theme });
    },
  }));
  if (remember)
    store.subscribe((s) => remember(`#${s.screen}${s.serverId ? `/${encodeURIComponent(s.serverId)}` : ''}`));
  return store;
}

export type UiStore = ReturnType<typeof createUiStore>;
