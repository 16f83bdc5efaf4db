import { useEffect, useState } from 'react';
import { markOnce } from '../paint-mark';
import type { ServerProfile, ServerStatus, ServerSummary } from '../../src-main/api/contract';
import { formatAgo, formatDuration, formatTime } from '../format';
import type { Stores } from '../stores';
import { ServerForm } from './ServerForm';

const STATUS_LABEL: Record<ServerStatus, string> = {
  starting: 'Starting',
  online: 'Online',
  offline: 'Offline',
  error: 'Error',
  unknown: 'Not tested',
};

export function ServersScreen({ stores }: { stores: Stores }) {
  const servers = stores.console((s) => s.servers);
  const status = stores.console((s) => s.status);
  const error = stores.console((s) => s.error);
  const [editing, setEditing] = useState<ServerProfile | 'new' | undefined>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    if (servers.length > 0) markOnce('mailvault:servers-painted');
    else if (status === 'ready') markOnce('mailvault:servers-empty-painted');
  }, [servers, status]);

  async function edit(id: string) {
    const answer = await stores.api.call('servers.get', { id });
    if (answer.ok) setEditing(answer.value);
    else setProblem(answer.error.message);
  }
  async function remove(server: ServerSummary) {
    if (!window.confirm(`Remove ${server.name} from the console? Its backups stay in ${server.target}.`))
      return;
    const answer = await stores.api.call('servers.remove', { id: server.id });
    if (!answer.ok) setProblem(answer.error.message);
  }
  async function test(id: string) {
    setProblem(undefined);
    const answer = await stores.api.call('servers.test', { id });
    if (!answer.ok) setProblem(answer.error.message);
    else if (!answer.value.ok)
      setProblem(answer.value.steps.find((s) => s.outcome === 'failed' || s.outcome === 'confirm')?.detail);
  }

  if (editing)
    return (
      <ServerForm
        stores={stores}
        initial={editing === 'new' ? undefined : editing}
        onDone={() => setEditing(undefined)}
      />
    );

  return (
    <section className="panel" aria-labelledby="servers-title">
      <div className="panel-head">
        <h2 id="servers-title">Servers</h2>
        {status === 'ready' && <span className="count">{servers.length}</span>}
        <span className="spacer" />
        <button className="primary" data-testid="add-server" onClick={() => setEditing('new')}>
          Add server
        </button>
      </div>
      {status === 'loading' && (
        <p className="notice" data-testid="servers-loading">
          Loading servers…
        </p>
      )}
      {(error || problem) && (
        <p className="notice notice-error" role="alert" data-testid="servers-error">
          {error?.message ?? problem}
        </p>
      )}
      {status === 'ready' && servers.length === 0 && (
        <p className="notice" data-testid="servers-empty">
          No servers yet. Add one, or start the console with the sandbox to try it out.
        </p>
      )}
      {servers.length > 0 && (
        <div className="table-scroll">
          <table className="server-list" data-testid="server-list">
            <thead>
              <tr>
                <th scope="col">Server</th>
                <th scope="col">Reached by</th>
                <th scope="col">Status</th>
                <th scope="col">Last full</th>
                <th scope="col">Last incremental</th>
                <th scope="col">Restore to any second</th>
                <th scope="col">Problems</th>
                <th scope="col" className="actions-col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {servers.map((server) => (
                <ServerRow
                  key={server.id}
                  server={server}
                  onOpen={(screen) => stores.ui.getState().show(screen, server.id)}
                  onEdit={() => void edit(server.id)}
                  onRemove={() => void remove(server)}
                  onTest={() => void test(server.id)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ServerRow(props: {
  server: ServerSummary;
  onOpen(screen: 'timeline' | 'backup' | 'standby'): void;
  onEdit(): void;
  onRemove(): void;
  onTest(): void;
}) {
  const { server } = props;
  const b = server.backups;
  return (
    <tr data-testid="server-row" data-server-id={server.id}>
      <td data-testid="server-name">
        <span className="server-name">{server.name}</span>
        {server.sandbox && <span className="tag">sandbox</span>}
        <div className="mono muted small" data-testid="server-hostname">
          {server.hostname || '—'}
        </div>
      </td>
      <td data-testid="server-access" data-access={server.access}>
        <span className="access">{server.access === 'ssh' ? 'SSH' : 'Local'}</span>
        {server.address && <span className="mono muted"> {server.address}</span>}
      </td>
      <td data-testid="server-status" data-status={server.status}>
        <span className={`status status-${server.status}`}>{STATUS_LABEL[server.status]}</span>
        {server.runningJobId && <span className="tag tag-run">backing up</span>}
        {server.detail && <div className="detail">{server.detail}</div>}
        {server.standby && <StandbyGlance server={server} onOpen={() => props.onOpen('standby')} />}
      </td>
      <td data-testid="server-last-full">
        <SessionCell session={b?.lastFull} />
      </td>
      <td data-testid="server-last-incremental">
        <SessionCell session={b?.lastIncremental} />
      </td>
      <td data-testid="server-coverage">
        {b?.coverage ? (
          <span title={`${formatTime(b.coverage.fromMs)} → ${formatTime(b.coverage.toMs)}`}>
            up to {formatAgo(b.coverage.toMs)}
          </span>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
      <td data-testid="server-problems">
        {b?.problem ? (
          <span className="status status-error" title={b.problem}>
            target unreadable
          </span>
        ) : b && b.troubled > 0 ? (
          <span className="status status-warn">{b.troubled} session(s)</span>
        ) : (
          <span className="muted">{b ? 'none' : '—'}</span>
        )}
      </td>
      <td className="row-actions">
        <button onClick={() => props.onOpen('timeline')} data-testid="open-timeline">
          Timeline
        </button>
        <button onClick={() => props.onOpen('backup')} data-testid="open-backup">
          Back up
        </button>
        {server.saved && (
          <>
            <button onClick={props.onTest} data-testid="test-server">
              Test
            </button>
            <button onClick={props.onEdit} data-testid="edit-server">
              Edit
            </button>
            <button className="danger-link" onClick={props.onRemove} data-testid="remove-server">
              Remove
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

/** The standby at a glance: the redo-log lag (what a failover would lose), volumes running late. */
function StandbyGlance({ server, onOpen }: { server: ServerSummary; onOpen(): void }) {
  const s = server.standby!;
  const level = s.problem ? 'error' : s.lagMs === null || s.late.length > 0 ? 'warn' : 'online';
  return (
    <div className="standby-glance">
      <button
        className="link"
        onClick={onOpen}
        data-testid="server-standby-lag"
        data-lag-ms={s.lagMs ?? ''}
        title={`Standby ${s.standbyName}${s.problem ? `: ${s.problem}` : ''}${s.late.length ? `; late: ${s.late.join(', ')}` : ''}`}
      >
        <span className={`status status-${level}`}>
          {s.problem
            ? 'standby unreadable'
            : s.lagMs === null
              ? 'standby: no complete snapshot'
              : `standby lag ${formatDuration(s.lagMs)}`}
        </span>
      </button>
    </div>
  );
}

function SessionCell({
  session,
}: {
  session: { label: string; endMs: number | null; status: string } | null | undefined;
}) {
  if (!session) return <span className="muted">never</span>;
  return (
    <span title={`${session.label} — ${session.status}`}>
      {session.endMs ? formatAgo(session.endMs) : 'running'}
      {session.status !== 'completed' && <span className="status status-warn"> with errors</span>}
    </span>
  );
}
