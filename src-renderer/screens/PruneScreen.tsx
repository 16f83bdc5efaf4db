import { useEffect } from 'react';
import type { PruneRule } from '../../src-main/api/contract';
import { ServerPicker } from '../components/ServerPicker';
import { formatTime } from '../format';
import type { Stores } from '../stores';
import { jobList } from '../stores/jobs';
import { loadTimeline, TimelineBody } from './TimelineScreen';

const UNITS: Extract<PruneRule, { kind: 'age' }>['unit'][] = ['minutes', 'hours', 'days', 'months', 'years'];

export function PruneScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const server = stores.console((s) => s.servers.find((x) => x.id === serverId));
  const p = stores.prune();
  const sessions = stores.timeline((s) => (s.serverId === serverId ? (s.data?.sessions ?? []) : []));
  const backupRunning = stores.jobs((s) =>
    jobList(s.jobs).some((j) => j.state === 'running' && j.serverId === serverId),
  );

  useEffect(() => {
    if (!serverId) return;
    stores.prune.getState().setServer(serverId);
    loadTimeline(stores, serverId);
  }, [serverId, stores]);

  const rule = p.rule;
  const age = rule.kind === 'age' ? rule : { kind: 'age' as const, amount: 30, unit: 'days' as const };

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="prune-title">
        <div className="panel-head">
          <h2 id="prune-title">Prune</h2>
          <span className="spacer" />
          <ServerPicker stores={stores} />
        </div>
        <div className="form">
          <fieldset className="segmented">
            <legend>Delete</legend>
            <label>
              <input
                type="radio"
                name="rule"
                checked={rule.kind === 'age'}
                onChange={() => p.setRule(age)}
                data-testid="rule-age"
              />
              Sessions older than
            </label>
            <label>
              <input
                type="radio"
                name="rule"
                checked={rule.kind === 'label'}
                disabled={sessions.length === 0}
                onChange={() => p.setRule({ kind: 'label', label: sessions[0]!.label })}
                data-testid="rule-label"
              />
              A session and every earlier one
            </label>
          </fieldset>
          {rule.kind === 'age' ? (
            <div className="inline">
              <input
                className="narrow"
                type="number"
                min={0}
                data-testid="age-amount"
                aria-label="Age"
                value={rule.amount}
                onChange={(e) =>
                  p.setRule({ ...rule, amount: Math.max(0, Math.floor(Number(e.target.value) || 0)) })
                }
              />
              <select
                data-testid="age-unit"
                aria-label="Unit"
                value={rule.unit}
                onChange={(e) => p.setRule({ ...rule, unit: e.target.value as typeof rule.unit })}
              >
                {UNITS.map((u) => (
                  <option key={u} value={u}>
                    {u}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <select
              data-testid="prune-label"
              aria-label="Session"
              value={rule.label}
              onChange={(e) => p.setRule({ kind: 'label', label: e.target.value })}
            >
              {[...sessions].reverse().map((s) => (
                <option key={s.label} value={s.label}>
                  {s.label} ({s.status})
                </option>
              ))}
            </select>
          )}
          <p className="muted small">
            Prune applies to the whole target <span className="mono">{server?.target ?? '—'}</span>. Redo logs
            go once no remaining session needs them.
          </p>
          {backupRunning && (
            <p className="notice notice-warn" data-testid="prune-blocked">
              A backup of this server is running: pruning waits until it ends.
            </p>
          )}
          {p.error && (
            <p className="notice notice-error" role="alert" data-testid="prune-error">
              {p.error.message}
            </p>
          )}
          <div className="buttons">
            <button
              data-testid="prune-preview"
              onClick={() => void p.preview()}
              disabled={!serverId || p.phase === 'previewing'}
            >
              Preview
            </button>
            {p.plan && (
              <button
                className="danger"
                data-testid="prune-confirm"
                disabled={backupRunning || p.phase === 'deleting' || p.plan.sessions.length === 0}
                onClick={() => void p.confirm()}
              >
                Delete {p.plan.sessions.length} session(s) and {p.plan.redoLogs.length} redo log(s)
              </button>
            )}
          </div>
          {p.plan && (
            <div
              className="plan"
              data-testid="prune-plan"
              data-sessions={p.plan.sessions.length}
              data-redologs={p.plan.redoLogs.length}
            >
              {p.plan.sessions.length === 0 ? (
                <p>Nothing matches: no session would be deleted.</p>
              ) : (
                <>
                  <p>
                    <strong>{p.plan.sessions.length} session(s)</strong>
                    {p.plan.cutoffMs !== undefined && (
                      <> that began before {formatTime(p.plan.cutoffMs)}</>
                    )}{' '}
                    and <strong>{p.plan.redoLogs.length} redo log(s)</strong> will be deleted (outlined in red
                    below).
                  </p>
                  {p.plan.warnings?.map((w) => (
                    <p key={w} className="notice notice-warn" data-testid="prune-warning">
                      {w}
                    </p>
                  ))}
                  <ul className="plan-list mono small" data-testid="prune-plan-sessions">
                    {p.plan.sessions.map((l) => (
                      <li key={l}>{l}</li>
                    ))}
                    {p.plan.redoLogs.map((l) => (
                      <li key={l}>redologs/{l}</li>
                    ))}
                  </ul>
                </>
              )}
            </div>
          )}
          {p.phase === 'done' && p.deleted && (
            <p className="notice notice-ok" data-testid="prune-done">
              Deleted {p.deleted.sessions.length} session(s) and {p.deleted.redoLogs.length} redo log(s).
            </p>
          )}
        </div>
      </section>
      <section className="panel" aria-label="Timeline of this server">
        <TimelineBody stores={stores} compact />
      </section>
    </div>
  );
}
