import { useEffect, useState } from 'react';
import type { StandbySetInfo, StandbyStatus, StandbyVolumeName } from '../../src-main/api/contract';
import { ServerPicker } from '../components/ServerPicker';
import { formatAgo, formatDuration, formatTime } from '../format';
import type { Stores } from '../stores';
import { StandbyWizard } from './StandbyWizard';

const VOLUMES: StandbyVolumeName[] = ['mysql', 'blobs', 'index', 'redolog'];
const VOLUME_LABEL: Record<StandbyVolumeName, string> = {
  mysql: 'MySQL',
  blobs: 'Blobs',
  index: 'Index',
  redolog: 'Redo logs',
};
/** The seed's default intervals (docs/standby.md): a lag beyond 1.5 of them is late, beyond 3 stale. */
const INTERVAL: Record<StandbyVolumeName, number> = {
  mysql: 3_600_000,
  blobs: 3_600_000,
  index: 3_600_000,
  redolog: 900_000,
};

export function lagLevel(volume: StandbyVolumeName, lagMs: number | null): 'ok' | 'late' | 'stale' {
  if (lagMs === null) return 'stale';
  const interval = INTERVAL[volume];
  return lagMs <= interval * 1.5 ? 'ok' : lagMs <= interval * 3 ? 'late' : 'stale';
}

const LEVEL_CLASS = { ok: 'status-online', late: 'status-warn', stale: 'status-error' } as const;

/**
 * A server's standby site (docs/standby.md): the snapshot sets the standby holds, each volume's
 * snapshot time (seconds apart within a set) and lag, the set a failover would load, and the
 * failover wizard. A server with no standby named gets the form to name one.
 */
export function StandbyScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const sb = stores.standby();

  useEffect(() => {
    if (serverId) void stores.standby.getState().load(serverId);
  }, [serverId, stores]);

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="standby-title" data-testid="standby-screen">
        <div className="panel-head">
          <h2 id="standby-title">Standby site</h2>
          {sb.status && (
            <span className="muted small" data-testid="standby-name">
              on {sb.status.standby.name} <span className="mono">{sb.status.standby.dir}</span>
            </span>
          )}
          <span className="spacer" />
          <ServerPicker stores={stores} />
          {sb.status && (
            <>
              <button
                data-testid="standby-refresh"
                onClick={() => serverId && void sb.load(serverId)}
                disabled={sb.busy !== undefined}
              >
                Refresh
              </button>
              <button
                className="danger"
                data-testid="failover-open"
                disabled={sb.status.failoverFrom === null || sb.step !== 'closed'}
                onClick={() => sb.openWizard()}
              >
                Fail over…
              </button>
            </>
          )}
        </div>
        {sb.busy === 'status' && !sb.status && !sb.unlinked && (
          <p className="notice" data-testid="standby-loading">
            Reading the standby's records…
          </p>
        )}
        {sb.error && sb.step === 'closed' && (
          <p className="notice notice-error" role="alert" data-testid="standby-error">
            {sb.error.message}
          </p>
        )}
        {sb.unlinked && <LinkForm stores={stores} />}
        {sb.status && <StatusView status={sb.status} />}
      </section>
      {sb.step !== 'closed' && <StandbyWizard stores={stores} />}
    </div>
  );
}

function LinkForm({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const servers = stores.console((s) => s.servers).filter((s) => s.id !== serverId);
  const busy = stores.standby((s) => s.busy);
  const [standby, setStandby] = useState('');
  const [dir, setDir] = useState('');
  const chosen = standby || servers[0]?.id || '';
  return (
    <form
      className="form"
      data-testid="standby-link-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (chosen) void stores.standby.getState().link(chosen, dir.trim() || undefined);
      }}
    >
      <p className="muted">
        No standby is named for this server. A standby is another saved server, fed with snapshots of this one
        by <span className="mono">mailvault standby snapshot --due</span> from cron.
      </p>
      <div className="form-grid">
        <label>
          <span>Standby server</span>
          <select
            data-testid="standby-link-server"
            value={chosen}
            onChange={(e) => setStandby(e.target.value)}
          >
            {servers.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
                {s.hostname ? ` — ${s.hostname}` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Snapshot directory on it (optional)</span>
          <input
            data-testid="standby-link-dir"
            placeholder="<its zimbra_home>/standby"
            value={dir}
            onChange={(e) => setDir(e.target.value)}
          />
        </label>
      </div>
      <div className="buttons">
        <button
          type="submit"
          className="primary"
          data-testid="standby-link-save"
          disabled={!chosen || !!busy}
        >
          Use as standby
        </button>
      </div>
    </form>
  );
}

function StatusView({ status }: { status: StandbyStatus }) {
  const sets = [...status.sets].reverse();
  return (
    <div className="job-body">
      <p className="muted small" data-testid="standby-primary">
        Snapshots of{' '}
        {status.primary ? <span className="mono">{status.primary.hostname}</span> : 'no server yet'}
        {' · '}
        {status.redoLogs} redo log(s) held · read {formatTime(status.now)}
      </p>
      <div className="volume-strip" data-testid="standby-volumes">
        {status.volumes.map((v) => {
          const level = lagLevel(v.volume, v.lagMs);
          return (
            <div
              key={v.volume}
              className={`volume-card volume-${level}`}
              data-testid="standby-volume"
              data-volume={v.volume}
              data-level={level}
            >
              <div className="volume-name">{VOLUME_LABEL[v.volume]}</div>
              <div className="mono small">{v.takenAt ? formatTime(v.takenAt) : 'never'}</div>
              <span className={`status ${LEVEL_CLASS[level]}`} data-testid="standby-lag">
                {v.lagMs === null ? 'no complete snapshot' : `lag ${formatDuration(v.lagMs)}`}
              </span>
              {v.incomplete > 0 && <div className="detail">{v.incomplete} incomplete</div>}
              {v.lastError && <div className="detail status-error">{v.lastError}</div>}
            </div>
          );
        })}
      </div>
      <p className={status.failoverFrom ? 'failover-from' : 'notice notice-warn'} data-testid="failover-from">
        {status.failoverFrom
          ? `A failover now loads the set of ${formatTime(status.failoverFrom)} and replays the redo logs from it (zmplayredo --fromTime); mail committed after the last redo-log snapshot (${status.lastRedoSnapshot ? `${formatTime(status.lastRedoSnapshot)}, ${formatAgo(status.lastRedoSnapshot)}` : '—'}) would be lost.`
          : 'No complete set yet (a mysql snapshot, then blobs and index, then a redo-log snapshot): a failover is not possible.'}
      </p>
      <h3 className="subhead">Snapshot sets, newest first</h3>
      {sets.length === 0 ? (
        <p className="muted">The standby has received no mysql snapshot yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="set-table" data-testid="standby-sets">
            <thead>
              <tr>
                <th scope="col">Set (replay from)</th>
                {VOLUMES.map((v) => (
                  <th key={v} scope="col">
                    {VOLUME_LABEL[v]}
                  </th>
                ))}
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {sets.map((s) => (
                <SetRow key={s.fromTime} set={s} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Each volume's time, with its offset from the set's time: the snapshots follow by seconds. */
export function SetRow({ set }: { set: StandbySetInfo }) {
  return (
    <tr
      className={set.newest ? 'set-newest' : undefined}
      data-testid="standby-set"
      data-from={set.fromTime}
      data-complete={set.complete}
      data-newest={set.newest}
    >
      <td className="mono">{formatTime(set.fromTime)}</td>
      {VOLUMES.map((v) => {
        const e = set.volumes[v];
        return (
          <td key={v} data-volume={v} title={e?.id}>
            {e ? (
              <>
                <span className="mono">{formatTime(e.takenAt).slice(11)}</span>
                {v !== 'mysql' && (
                  <span className="muted small"> +{formatDuration(e.takenAt - set.fromTime)}</span>
                )}
              </>
            ) : (
              <span className="muted">—</span>
            )}
          </td>
        );
      })}
      <td>
        {set.complete ? (
          <span className="status status-online">complete</span>
        ) : (
          <span className="status status-warn">incomplete</span>
        )}
        {set.newest && <span className="tag">failover loads this</span>}
      </td>
    </tr>
  );
}
