import { Suspense, useEffect } from 'react';
import {
  BackupScreen,
  LogScreen,
  PruneScreen,
  RestoreScreen,
  ScheduleScreen,
  StandbyScreen,
} from './lazy-screens';
import { ServersScreen } from './screens/ServersScreen';
import { TimelineScreen } from './screens/TimelineScreen';
import { Toasts } from './components/Toasts';
import type { Stores } from './stores';
import type { Screen } from './stores/ui';
import { jobList } from './stores/jobs';

const TABS: { screen: Screen; label: string; key: string }[] = [
  { screen: 'servers', label: 'Servers', key: '1' },
  { screen: 'timeline', label: 'Timeline', key: '2' },
  { screen: 'backup', label: 'Backup', key: '3' },
  { screen: 'prune', label: 'Prune', key: '4' },
  { screen: 'restore', label: 'Restore planner', key: '5' },
  { screen: 'standby', label: 'Standby', key: '6' },
  { screen: 'schedule', label: 'Schedule', key: '7' },
  { screen: 'log', label: 'Log', key: '8' },
];

export function App({ stores }: { stores: Stores }) {
  const info = stores.console((s) => s.info);
  const screen = stores.ui((s) => s.screen);
  const theme = stores.ui((s) => s.theme);
  const running = stores.jobs((s) => jobList(s.jobs).filter((j) => j.state === 'running').length);

  // Alt+1…4 switch screens from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const tab = e.altKey && TABS.find((t) => t.key === e.key);
      if (tab) {
        e.preventDefault();
        stores.ui.getState().show(tab.screen);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [stores]);

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            MV
          </span>
          <h1 data-testid="app-title">Mailvault</h1>
          <span className="brand-tagline">Zimbra backup &amp; restore</span>
        </div>
        <nav className="tabs" role="tablist" aria-label="Screens">
          {TABS.map((t) => (
            <button
              key={t.screen}
              role="tab"
              aria-selected={screen === t.screen}
              className={screen === t.screen ? 'tab active' : 'tab'}
              data-testid={`tab-${t.screen}`}
              title={`Alt+${t.key}`}
              onClick={() => stores.ui.getState().show(t.screen)}
            >
              {t.label}
              {t.screen === 'backup' && running > 0 && (
                <span className="tab-badge" data-testid="running-jobs">
                  {running}
                </span>
              )}
            </button>
          ))}
        </nav>
        <div className="header-side">
          <button
            className="theme-toggle"
            data-testid="theme-toggle"
            aria-label="Switch between light and dark"
            onClick={() => stores.ui.getState().setTheme(nextTheme(theme))}
          >
            {theme === 'dark' ? 'Dark' : theme === 'light' ? 'Light' : 'Auto'}
          </button>
          {info && (
            <span className="app-meta" data-testid="app-version">
              v{info.version}
            </span>
          )}
        </div>
      </header>
      <main className="content" role="tabpanel">
        <Suspense fallback={<p className="notice">Loading…</p>}>
          {screen === 'servers' && <ServersScreen stores={stores} />}
          {screen === 'timeline' && <TimelineScreen stores={stores} />}
          {screen === 'backup' && <BackupScreen stores={stores} />}
          {screen === 'prune' && <PruneScreen stores={stores} />}
          {screen === 'restore' && <RestoreScreen stores={stores} />}
          {screen === 'standby' && <StandbyScreen stores={stores} />}
          {screen === 'schedule' && <ScheduleScreen stores={stores} />}
          {screen === 'log' && <LogScreen stores={stores} />}
        </Suspense>
      </main>
      <Toasts stores={stores} />
    </div>
  );
}

function nextTheme(theme: 'light' | 'dark' | 'system'): 'light' | 'dark' | 'system' {
  return theme === 'system' ? 'dark' : theme === 'dark' ? 'light' : 'system';
}
