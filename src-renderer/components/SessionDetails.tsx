import type { Stores } from '../stores';
import { formatBytes, formatDuration, formatTime } from '../format';

/** The selected session's details (sessions.get): what the lean session list leaves out. */
export function SessionDetails({ stores }: { stores: Stores }) {
  const selected = stores.timeline((s) => s.selected);
  const d = stores.timeline((s) => s.detail);
  if (!selected)
    return (
      <aside className="session-detail muted">
        Click a session on the timeline or in the list for its details.
      </aside>
    );
  if (!d) return <aside className="session-detail">Loading {selected}…</aside>;
  return (
    <aside className="session-detail" data-testid="session-detail" aria-label={`Session ${d.label}`}>
      <h3 className="mono">{d.label}</h3>
      <dl>
        <dt>Type</dt>
        <dd>{d.type}</dd>
        <dt>Outcome</dt>
        <dd data-testid="detail-status">{d.status}</dd>
        <dt>Started</dt>
        <dd>{formatTime(d.startMs)}</dd>
        <dt>Took</dt>
        <dd>{d.endMs ? formatDuration(d.endMs - d.startMs) : 'running'}</dd>
        <dt>Accounts</dt>
        <dd data-testid="detail-accounts">{d.accounts}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(d.bytes)}</dd>
        {d.redoLogs > 0 && (
          <>
            <dt>Redo logs</dt>
            <dd>
              {d.redoLogs}
              {d.redoSeq && ` (seq ${d.redoSeq.min}–${d.redoSeq.max})`}
            </dd>
          </>
        )}
      </dl>
      {d.errors.length > 0 && (
        <ul className="errors">
          {d.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
      {d.warnings.length > 0 && (
        <ul className="warnings">
          {d.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {d.accountList.length > 0 && (
        <table className="account-table">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Size</th>
              <th scope="col">Maintenance window</th>
            </tr>
          </thead>
          <tbody>
            {d.accountList.slice(0, 100).map((a) => (
              <tr key={a.email} className={a.status === 'ERROR' ? 'failed' : ''}>
                <td>
                  {a.email}
                  {a.error && <div className="detail">{a.error}</div>}
                </td>
                <td>{formatBytes(a.bytes)}</td>
                <td>{a.maintenance ? formatDuration(a.maintenance.toMs - a.maintenance.fromMs) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}
