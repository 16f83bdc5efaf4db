import { useEffect } from 'react';
import type { LogLevel } from '../../src-main/api/contract';
import { formatTime } from '../format';
import type { Stores } from '../stores';
import { filterLines } from '../stores/log';

const LEVELS: { value: LogLevel | ''; label: string }[] = [
  { value: '', label: 'Everything' },
  { value: 'warn', label: 'Warnings and errors' },
  { value: 'error', label: 'Errors' },
];

/** The console's log (issue 8): jobs started and ended, failed requests, changes; newest first. */
export function LogScreen({ stores }: { stores: Stores }) {
  const lines = stores.log((s) => s.lines);
  const filter = stores.log((s) => s.filter);
  const error = stores.log((s) => s.error);
  const servers = stores.console((s) => s.servers);
  const permission = stores.notifications((s) => s.permission);
  useEffect(() => void stores.log.getState().load(), [stores]);
  const shown = filterLines(lines, filter);
  const nameOf = (id?: string) => (id ? (servers.find((s) => s.id === id)?.name ?? id) : '');

  return (
    <section className="panel" aria-labelledby="log-title">
      <div className="panel-head">
        <h2 id="log-title">Log</h2>
        <span className="count">{shown.length}</span>
        <span className="spacer" />
        {permission === 'default' && (
          <button data-testid="notify-ask" onClick={() => void stores.notifications.getState().ask()}>
            Desktop notifications when jobs end
          </button>
        )}
        <label className="picker">
          <span>Server</span>
          <select
            data-testid="log-server"
            value={filter.serverId ?? ''}
            onChange={(e) =>
              stores.log.getState().setFilter({ ...filter, serverId: e.target.value || undefined })
            }
          >
            <option value="">All servers</option>
            {servers.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label className="picker">
          <span>Level</span>
          <select
            data-testid="log-level"
            value={filter.level ?? ''}
            onChange={(e) =>
              stores.log.getState().setFilter({ ...filter, level: (e.target.value || undefined) as LogLevel })
            }
          >
            {LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p className="notice notice-error" role="alert">
          {error.message}
        </p>
      )}
      {shown.length === 0 ? (
        <p className="notice" data-testid="log-empty">
          Nothing logged{filter.serverId || filter.level ? ' that matches' : ' yet'}.
        </p>
      ) : (
        <ol className="log-lines" data-testid="log-lines">
          {shown.map((l) => (
            <li key={l.seq} className={`log-line log-${l.level}`} data-testid="log-line" data-level={l.level}>
              <span className="mono muted">{formatTime(l.at)}</span>
              <span className={`log-level log-level-${l.level}`}>{l.level}</span>
              <span className="log-server">{nameOf(l.serverId)}</span>
              <span className="log-message">{l.message}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
