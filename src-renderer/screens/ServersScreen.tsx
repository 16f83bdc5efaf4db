import type { ServerStatus, ServerSummary } from '../../src-main/api/contract';
import type { ConsoleStore } from '../stores/console';

const STATUS_LABEL: Record<ServerStatus, string> = {
  starting: 'Starting',
  online: 'Online',
  offline: 'Offline',
  error: 'Error',
  unknown: 'Not tested',
};

export function ServersScreen({ useConsole }: { useConsole: ConsoleStore }) {
  const servers = useConsole((s) => s.servers);
  const status = useConsole((s) => s.status);
  const error = useConsole((s) => s.error);
  return (
    <section className="panel" aria-labelledby="servers-title">
      <div className="panel-head">
        <h2 id="servers-title">Servers</h2>
        {status === 'ready' && <span className="count">{servers.length}</span>}
      </div>
      {status === 'loading' && (
        <p className="notice" data-testid="servers-loading">
          Loading servers…
        </p>
      )}
      {error && (
        <p className="notice notice-error" role="alert" data-testid="servers-error">
          {error.message}
        </p>
      )}
      {status === 'ready' && servers.length === 0 && (
        <p className="notice" data-testid="servers-empty">
          No servers yet.
        </p>
      )}
      {servers.length > 0 && (
        <table className="server-list" data-testid="server-list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Host name</th>
              <th scope="col">Reached by</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((server) => (
              <ServerRow key={server.id} server={server} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ServerRow({ server }: { server: ServerSummary }) {
  return (
    <tr data-testid="server-row" data-server-id={server.id}>
      <td data-testid="server-name">
        <span className="server-name">{server.name}</span>
        {server.sandbox && <span className="tag">sandbox</span>}
      </td>
      <td className="mono" data-testid="server-hostname">
        {server.hostname || '—'}
      </td>
      <td data-testid="server-access" data-access={server.access}>
        <span className="access">{server.access === 'ssh' ? 'SSH' : 'Local'}</span>
        {server.address && <span className="mono muted"> {server.address}</span>}
      </td>
      <td data-testid="server-status" data-status={server.status}>
        <span className={`status status-${server.status}`}>{STATUS_LABEL[server.status]}</span>
        {server.detail && <div className="detail">{server.detail}</div>}
      </td>
    </tr>
  );
}
