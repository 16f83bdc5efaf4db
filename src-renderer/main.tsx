import { createApiClient } from './api-client';
import { prepaintTimeline } from './prepaint';
import { createStores } from './stores';
import './styles.css';

// The API client takes the web host's token out of the URL fragment; the view asked for is read first.
const initialHash = window.location.hash;
const api = createApiClient();
const stores = createStores(api, initialHash, (hash) =>
  history.replaceState(null, '', `${window.location.pathname}${window.location.search}${hash}`),
);
// The theme goes on the document before React renders with it, so a canvas redrawn for the change
// reads the new colours.
const applyTheme = (theme: string) => (document.documentElement.dataset.theme = theme);
applyTheme(stores.ui.getState().theme);
stores.ui.subscribe((s) => applyTheme(s.theme));
void stores.console.getState().load();
// A window opened (or reloaded) on a timeline asks for it at once, alongside the server list.
const { screen, serverId } = stores.ui.getState();
if (serverId && serverId !== '*' && (screen === 'timeline' || screen === 'prune'))
  void stores.timeline.getState().load(serverId);
void stores.jobs.getState().resync();

// React comes in its own chunk: this small entry asks for the data first, and a timeline is drawn
// as soon as it is there (prepaint.ts), while React is still loading.
const root = document.getElementById('root')!;
const stopPrepaint = screen === 'timeline' ? prepaintTimeline(stores.timeline, root) : () => {};
void import('./boot').then(({ boot }) => {
  stopPrepaint();
  boot(stores, root);
});
