import { ServersScreen } from './screens/ServersScreen';
import type { ConsoleStore } from './stores/console';

export function App({ useConsole }: { useConsole: ConsoleStore }) {
  const info = useConsole((s) => s.info);
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
        {info && (
          <span className="app-meta" data-testid="app-version">
            v{info.version}
          </span>
        )}
      </header>
      <main className="content">
        <ServersScreen useConsole={useConsole} />
      </main>
    </div>
  );
}
