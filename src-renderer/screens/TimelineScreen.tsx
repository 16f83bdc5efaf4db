import { useDeferredValue, useEffect } from 'react';
import type { SessionInfo } from '../../src-main/api/contract';
import { ServerPicker } from '../components/ServerPicker';
import { TimelineCanvas } from '../components/TimelineCanvas';
import { formatBytes, formatDuration, formatTime } from '../format';
import type { Stores } from '../stores';

const LIST_LIMIT = 200;
const GAPS_LISTED = 4;

export function TimelineScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  useEffect(() => {
    if (serverId) loadTimeline(stores, serverId);
  }, [serverId, stores]);
  return (
    <section className="panel" aria-labelledby="timeline-title">
      <div className="panel-head">
        <h2 id="timeline-title">Timeline</h2>
        <span className="spacer" />
        <ServerPicker stores={stores} />
      </div>
      <TimelineBody stores={stores} />
    </section>
  );
}

/** Loads a server's timeline unless it is already there or on its way (events keep it current). */
export function loadTimeline(stores: Stores, serverId: string): void {
  const t = stores.timeline.getState();
  if (t.serverId === serverId && (t.data || t.loading)) return;
  void t.load(serverId);
}

const NO_SESSIONS: SessionInfo[] = [];

export function TimelineBody({ stores, compact = false }: { stores: Stores; compact?: boolean }) {
  const t = stores.timeline();
  const theme = stores.ui((s) => s.theme);
  const v = t.viewport;
  const inView =
    !t.data || !v
      ? NO_SESSIONS
      : t.data.sessions.filter((s) => s.startMs <= v.toMs && (s.endMs ?? Date.now()) >= v.fromMs);
  // The list follows the canvas: the timeline paints first, the table right after.
  const listed = useDeferredValue(inView, NO_SESSIONS);
  if (t.error && !t.data)
    return (
      <p className="notice notice-error" role="alert" data-testid="timeline-error">
        {t.error.message}
      </p>
    );
  if (!t.data || !t.viewport) return <p className="notice">Loading sessions…</p>;
  const { data, viewport } = t;
  const act = t;
  return (
    <div className="timeline">
      <div className="timeline-toolbar">
        <Legend />
        <span className="spacer" />
        <span className="muted small" data-testid="timeline-count">
          {data.sessions.length} session(s), {inView.length} in view
        </span>
        <button onClick={() => act.zoom(0.5)} aria-label="Zoom in">
          +
        </button>
        <button onClick={() => act.zoom(2)} aria-label="Zoom out">
          −
        </button>
        <button onClick={() => act.fit()}>Fit</button>
      </div>
      <div className="timeline-frame">
        <TimelineCanvas
          theme={theme}
          data={data}
          viewport={viewport}
          selected={t.selected}
          doomed={t.doomed}
          onSelect={(label) => void act.select(label)}
          onZoom={act.zoom}
          onPan={act.pan}
          onFit={act.fit}
        />
      </div>
      {data.sessions.length === 0 && (
        <p className="notice" data-testid="timeline-empty">
          No sessions in this server's target yet. Run a full backup to start.
        </p>
      )}
      {data.gaps.length > 0 && !compact && (
        <ul className="gaps" data-testid="timeline-gaps">
          {data.gaps.slice(-GAPS_LISTED).map((g) => (
            <li key={g.fromMs}>
              <span className="status status-error">Gap</span> {formatTime(g.fromMs)} → {formatTime(g.toMs)}:{' '}
              {g.why}
            </li>
          ))}
          {data.gaps.length > GAPS_LISTED && (
            <li className="muted">
              and {data.gaps.length - GAPS_LISTED} earlier gap(s), shaded on the timeline
            </li>
          )}
        </ul>
      )}
      <div className={compact ? 'timeline-lower compact' : 'timeline-lower'}>
        <SessionList
          sessions={listed}
          selected={t.selected}
          doomed={t.doomed}
          onSelect={(l) => void act.select(l)}
        />
        {!compact && <SessionDetails stores={stores} />}
      </div>
    </div>
  );
}

function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      <li>
        <i className="swatch ok" /> completed
      </li>
      <li>
        <i className="swatch warn" /> with errors
      </li>
      <li>
        <i className="swatch bad" /> failed / aborted
      </li>
      <li>
        <i className="swatch run" /> running
      </li>
      <li>
        <i className="swatch coverage" /> any-second restore
      </li>
      <li>
        <i className="swatch gap" /> gap
      </li>
    </ul>
  );
}

function SessionList(props: {
  sessions: SessionInfo[];
  selected?: string;
  doomed: string[];
  onSelect(label: string): void;
}) {
  const newest = props.sessions.slice(-LIST_LIMIT).reverse();
  const doomed = new Set(props.doomed);
  return (
    <div className="session-list" data-testid="session-list">
      <table>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
            <th scope="col">Accounts</th>
            <th scope="col">Size</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {newest.map((s) => (
            <tr
              key={s.label}
              className={`${s.label === props.selected ? 'selected' : ''} ${doomed.has(s.label) ? 'doomed' : ''}`}
              data-testid="timeline-session"
              data-label={s.label}
              data-type={s.type}
              data-status={s.status}
              data-doomed={doomed.has(s.label)}
            >
              <td>
                <button className="link mono" onClick={() => props.onSelect(s.label)}>
                  {s.label}
                </button>
              </td>
              <td>{formatTime(s.startMs)}</td>
              <td>{s.endMs ? formatDuration(s.endMs - s.startMs) : 'running'}</td>
              <td>
                {s.accounts}
                {s.accountErrors > 0 && (
                  <span className="status status-error"> {s.accountErrors} failed</span>
                )}
              </td>
              <td>{formatBytes(s.bytes)}</td>
              <td>
                <span className={`outcome outcome-${s.status.replace(/ /g, '-')}`}>{s.status}</span>
                {doomed.has(s.label) && <span className="tag tag-doomed">will be deleted</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.sessions.length > LIST_LIMIT && (
        <p className="muted small">
          {props.sessions.length - LIST_LIMIT} older session(s) in view: zoom in to list them.
        </p>
      )}
    </div>
  );
}

function SessionDetails({ stores }: { stores: Stores }) {
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
