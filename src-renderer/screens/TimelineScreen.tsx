import { useDeferredValue, useEffect } from 'react';
import type { ScheduleRun, SessionRow } from '../../src-main/api/contract';
import { SessionDetails } from '../components/SessionDetails';
import { TimelineCanvas } from '../components/TimelineCanvas';
import { MISSED_TIP } from '../components/timeline-runs';
import { ALL_SERVERS, TimelinePicker } from '../components/TimelinePicker';
import { formatBytes, formatDuration, formatTime } from '../format';
import type { Stores } from '../stores';
import type { TimelineState } from '../stores/timeline';

const LIST_LIMIT = 200;
const GAPS_LISTED = 4;
const RUNS_LISTED = 6;

export function TimelineScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const servers = stores.console((s) => s.servers);
  // The lanes follow the server list (added, removed, renamed), not its every refresh.
  const serverKey = servers.map((s) => `${s.id}\0${s.name}`).join('\n');
  useEffect(() => {
    if (serverId && serverId !== ALL_SERVERS) loadTimeline(stores, serverId);
  }, [serverId, stores]);
  useEffect(() => {
    if (serverId !== ALL_SERVERS || !serverKey) return;
    const list = serverKey.split('\n').map((line) => {
      const [id, name] = line.split('\0') as [string, string];
      return { id, name };
    });
    void stores.timeline.getState().loadAll(list);
  }, [serverId, serverKey, stores]);
  return (
    <section className="panel" aria-labelledby="timeline-title">
      <div className="panel-head">
        <h2 id="timeline-title">Timeline</h2>
        <span className="spacer" />
        <TimelinePicker stores={stores} />
      </div>
      <TimelineBody stores={stores} />
    </section>
  );
}

/** Loads a server's timeline unless it is already there or on its way (events keep it current). */
export function loadTimeline(stores: Stores, serverId: string): void {
  // '*' (all servers) is the timeline's own choice; another screen's picker replaces it at once.
  if (serverId === ALL_SERVERS) return;
  const t = stores.timeline.getState();
  if (t.scope === 'server' && t.serverId === serverId && (t.data || t.loading)) return;
  void t.load(serverId);
}

interface Listed {
  row: SessionRow;
  serverId?: string;
  server?: string;
}
const NOTHING: Listed[] = [];

/** The sessions in view, oldest first, with their server's name on the all-servers timeline. */
function sessionsInView(t: TimelineState): Listed[] {
  const v = t.viewport;
  if (!v) return NOTHING;
  const now = Date.now();
  const inView = (s: SessionRow) => s.startMs <= v.toMs && (s.endMs ?? now) >= v.fromMs;
  if (t.scope === 'server') return t.data ? t.data.sessions.filter(inView).map((row) => ({ row })) : NOTHING;
  return t.lanes
    .flatMap((l) =>
      (l.data?.sessions ?? []).filter(inView).map((row) => ({ row, serverId: l.serverId, server: l.name })),
    )
    .sort((a, b) => a.row.startMs - b.row.startMs);
}

export function TimelineBody({ stores, compact = false }: { stores: Stores; compact?: boolean }) {
  const t = stores.timeline();
  const theme = stores.ui((s) => s.theme);
  const all = t.scope === 'all';
  const inView = sessionsInView(t);
  // The list follows the canvas: the timeline paints first, the table right after.
  const listed = useDeferredValue(inView, NOTHING);
  const ready = all ? t.lanes.length > 0 : !!t.data;
  if (t.error && !ready)
    return (
      <p className="notice notice-error" role="alert" data-testid="timeline-error">
        {t.error.message}
      </p>
    );
  if (!ready || !t.viewport) return <p className="notice">Loading sessions…</p>;
  const { data, viewport } = t;
  const total = all ? t.lanes.reduce((n, l) => n + (l.data?.sessions.length ?? 0), 0) : data!.sessions.length;
  const act = t;
  return (
    <div className="timeline">
      <div className="timeline-toolbar">
        <Legend />
        <span className="spacer" />
        <span className="muted small" data-testid="timeline-count">
          {all && `${t.lanes.length} server(s), `}
          {total} session(s), {inView.length} in view
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
          {...(all ? { lanes: t.lanes } : { data })}
          viewport={viewport}
          selected={t.selected}
          selectedServer={t.selectedServer}
          doomed={t.doomed}
          onSelect={(label, serverId) => void act.select(label, serverId)}
          onZoom={act.zoom}
          onPan={act.pan}
          onFit={act.fit}
        />
      </div>
      {total === 0 && (
        <p className="notice" data-testid="timeline-empty">
          {all
            ? 'No sessions in any server’s target yet.'
            : 'No sessions in this server’s target yet. Run a full backup to start.'}
        </p>
      )}
      {all &&
        t.lanes
          .filter((l) => l.error)
          .map((l) => (
            <p key={l.serverId} className="notice notice-error" data-testid="lane-error">
              {l.name}: {l.error!.message}
            </p>
          ))}
      {!all && data && !compact && <Runs planned={data.planned} missed={data.missed} />}
      {!all && data && data.gaps.length > 0 && !compact && (
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
          all={all}
          selected={t.selected}
          selectedServer={t.selectedServer}
          doomed={t.doomed}
          onSelect={(l, serverId) => void act.select(l, serverId)}
        />
        {!compact && <SessionDetails stores={stores} />}
      </div>
    </div>
  );
}

/** The schedule's next and missed runs, in words (the canvas shows them as markers). */
function Runs({ planned, missed }: { planned?: ScheduleRun[]; missed?: ScheduleRun[] }) {
  if (!planned?.length && !missed?.length) return null;
  return (
    <ul className="gaps runs">
      {missed && missed.length > 0 && (
        <li data-testid="timeline-missed">
          <span className="status status-error">Missed</span> {missed.length} scheduled run(s) did not start (
          {MISSED_TIP.replace('missed: ', '')}):{' '}
          {missed
            .slice(-RUNS_LISTED)
            .map((r) => `${r.kind} ${formatTime(r.atMs, false)}`)
            .join(', ')}
        </li>
      )}
      {planned && planned.length > 0 && (
        <li data-testid="timeline-planned">
          <span className="status">Next</span>{' '}
          {planned
            .slice(0, RUNS_LISTED)
            .map((r) => `${r.kind} ${formatTime(r.atMs, false)}`)
            .join(', ')}
        </li>
      )}
    </ul>
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
      <li>
        <i className="swatch planned" /> planned
      </li>
      <li>
        <i className="swatch missed" /> missed
      </li>
    </ul>
  );
}

function SessionList(props: {
  sessions: Listed[];
  all: boolean;
  selected?: string;
  selectedServer?: string;
  doomed: string[];
  onSelect(label: string, serverId?: string): void;
}) {
  const newest = props.sessions.slice(-LIST_LIMIT).reverse();
  const doomed = new Set(props.doomed);
  return (
    <div className="session-list" data-testid="session-list">
      <table>
        <thead>
          <tr>
            {props.all && <th scope="col">Server</th>}
            <th scope="col">Session</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
            <th scope="col">Accounts</th>
            <th scope="col">Size</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {newest.map(({ row: s, serverId, server }) => {
            const chosen = s.label === props.selected && (!props.all || serverId === props.selectedServer);
            return (
              <tr
                key={`${serverId ?? ''}/${s.label}`}
                className={`${chosen ? 'selected' : ''} ${doomed.has(s.label) ? 'doomed' : ''}`}
                data-testid="timeline-session"
                data-label={s.label}
                data-server={serverId}
                data-type={s.type}
                data-status={s.status}
                data-doomed={doomed.has(s.label)}
              >
                {props.all && <td>{server}</td>}
                <td>
                  <button className="link mono" onClick={() => props.onSelect(s.label, serverId)}>
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
            );
          })}
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
