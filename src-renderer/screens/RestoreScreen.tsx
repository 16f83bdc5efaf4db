import { useEffect, useState } from 'react';
import type { RestorePointInfo } from '../../src-main/api/contract';
import { ServerPicker } from '../components/ServerPicker';
import { formatBytes, formatTime } from '../format';
import type { Stores } from '../stores';
import { jobList } from '../stores/jobs';
import { JobCard } from './BackupScreen';

const pad = (n: number) => String(n).padStart(2, '0');
/** A datetime-local input's value for a time (local, to the second). */
function inputTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The restore planner, from the backup target alone: an account's restore points in a window, the
 * destructive bursts it went through (restore to just before one), and the plan for an instant.
 * The restore itself runs as a job into a new account (the original is never touched from here);
 * the plan also gives the same restore as a command line.
 */
export function RestoreScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const r = stores.restore();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState(() => inputTime(Date.now()));

  useEffect(() => {
    if (serverId) void stores.restore.getState().loadAccounts(serverId);
  }, [serverId, stores]);

  const toMs = Date.parse(to);
  const fromMs = from ? Date.parse(from) : undefined;

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="restore-title">
        <div className="panel-head">
          <h2 id="restore-title">Restore planner</h2>
          <span className="spacer" />
          <ServerPicker stores={stores} />
        </div>
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!Number.isNaN(toMs)) void r.find(fromMs, toMs);
          }}
        >
          <div className="form-grid">
            <label className="wide">
              <span>Account</span>
              <select
                data-testid="restore-account"
                value={r.account ?? ''}
                onChange={(e) => r.setAccount(e.target.value)}
              >
                {r.accounts.map((a) => (
                  <option key={a.zimbraId} value={a.email}>
                    {a.email}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span>From (optional)</span>
              <input
                type="datetime-local"
                step={1}
                data-testid="restore-from"
                value={from}
                onChange={(e) => setFrom(e.target.value)}
              />
            </label>
            <label>
              <span>To</span>
              <input
                type="datetime-local"
                step={1}
                data-testid="restore-to"
                value={to}
                onChange={(e) => setTo(e.target.value)}
                required
              />
            </label>
          </div>
          {r.accounts.length === 0 && r.busy !== 'accounts' && (
            <p className="notice" data-testid="restore-no-accounts">
              No session in this server's target holds an account yet.
            </p>
          )}
          {r.error && (
            <p className="notice notice-error" role="alert" data-testid="restore-error">
              {r.error.message}
            </p>
          )}
          <div className="buttons">
            <button
              type="submit"
              className="primary"
              data-testid="restore-find"
              disabled={!r.account || r.busy !== undefined}
            >
              {r.busy === 'query' ? 'Looking…' : 'Find restore points'}
            </button>
          </div>
        </form>
      </section>

      {r.query && (
        <section className="panel" aria-labelledby="points-title" data-testid="restore-points">
          <div className="panel-head">
            <h2 id="points-title">Restore points of {r.query.account.email}</h2>
          </div>
          <div className="job-body">
            <h3 className="subhead">Best point in time</h3>
            {r.query.best ? (
              <PointRow
                point={r.query.best}
                label="End of the window"
                onPlan={(ms) => void r.planTo(ms)}
                testId="best-point"
              />
            ) : (
              <p className="muted">
                No completed full backup at or before the end of the window holds this account.
              </p>
            )}
            <h3 className="subhead">Destructive bursts (restore to just before one)</h3>
            {r.query.bursts.length === 0 ? (
              <p className="muted" data-testid="no-bursts">
                None found in the window.
              </p>
            ) : (
              r.query.bursts.map((b) => (
                <div key={b.startMs} className="burst" data-testid="burst">
                  <p>
                    <strong>{formatTime(b.startMs)}</strong> — {b.summary}
                  </p>
                  {b.restore ? (
                    <PointRow point={b.restore} label="Just before it" onPlan={(ms) => void r.planTo(ms)} />
                  ) : (
                    <p className="muted small">
                      The target cannot restore to just before it (no full before it, or redo missing).
                    </p>
                  )}
                </div>
              ))
            )}
            {r.query.notes.length > 0 && (
              <ul className="warnings small">
                {r.query.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            )}
            <h3 className="subhead">Sessions holding the account</h3>
            <table data-testid="restore-sessions">
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Started</th>
                  <th scope="col">Account</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {r.query.sessions.map((s) => (
                  <tr key={s.label}>
                    <td className="mono">{s.label}</td>
                    <td>{formatTime(s.startMs)}</td>
                    <td className={s.accountStatus === 'ERROR' ? 'status-error' : ''}>
                      {s.accountStatus}
                      {s.error && <div className="detail">{s.error}</div>}
                    </td>
                    <td>{formatBytes(s.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {r.plan && <PlanPanel stores={stores} />}
    </div>
  );
}

function PointRow(props: {
  point: RestorePointInfo;
  label: string;
  onPlan(ms: number): void;
  testId?: string;
}) {
  const p = props.point;
  return (
    <div className="point" data-testid={props.testId} data-complete={p.complete}>
      <span>
        {props.label}: <strong>{formatTime(p.atMs)}</strong> from <span className="mono">{p.full}</span>
        {p.redoLogs > 0 ? ` + ${p.redoLogs} redo log(s)` : ''}
        {!p.complete && <span className="status status-warn"> only up to here: {p.missing}</span>}
      </span>
      <button
        onClick={() => props.onPlan(p.atMs)}
        data-testid={props.testId ? `${props.testId}-plan` : undefined}
      >
        Plan this restore
      </button>
    </div>
  );
}

function PlanPanel({ stores }: { stores: Stores }) {
  const plan = stores.restore((s) => s.plan)!;
  const kinds = Object.entries(plan.replay.byKind).sort((a, b) => b[1] - a[1]);
  return (
    <section
      className="panel"
      aria-labelledby="plan-title"
      data-testid="restore-plan"
      data-reachable={plan.reachable}
    >
      <div className="panel-head">
        <h2 id="plan-title">
          Plan: {plan.account.email} at {formatTime(plan.restoresToMs)}
        </h2>
        <span className={`status status-${plan.reachable ? 'online' : 'warn'}`}>
          {plan.reachable ? 'reachable' : 'not fully reachable'}
        </span>
      </div>
      <div className="job-body">
        {!plan.reachable && <p className="notice notice-warn">{plan.missing}</p>}
        <dl className="facts">
          <div>
            <dt>Starts from</dt>
            <dd className="mono" data-testid="plan-full">
              {plan.full.label}
            </dd>
          </div>
          <div>
            <dt>Redo logs</dt>
            <dd data-testid="plan-logs">{plan.redoLogs.length}</dd>
          </div>
          <div>
            <dt>Reads</dt>
            <dd>{formatBytes(plan.bytesToRead)}</dd>
          </div>
          <div>
            <dt>Ops replayed</dt>
            <dd data-testid="plan-ops">{plan.replay.total}</dd>
          </div>
          {plan.messages && (
            <div className="wide">
              <dt>Messages</dt>
              <dd data-testid="plan-messages">
                {plan.messages.atFull} at the full → {plan.messages.atTarget} restored
              </dd>
            </div>
          )}
        </dl>
        {kinds.length > 0 && <p className="muted small">{kinds.map(([k, n]) => `${k} ${n}`).join(', ')}</p>}
        {plan.folders && (
          <table className="account-table" data-testid="plan-folders">
            <thead>
              <tr>
                <th scope="col">Folder</th>
                <th scope="col">At the full</th>
                <th scope="col">Restored</th>
              </tr>
            </thead>
            <tbody>
              {plan.folders.map((f) => (
                <tr key={f.path}>
                  <td>{f.path}</td>
                  <td>{f.atFull ?? '—'}</td>
                  <td>{f.atTarget ?? '(gone)'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {plan.problems.length > 0 && (
          <ul className="errors small">
            {plan.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        <RunRestore stores={stores} toMs={plan.restoresToMs} email={plan.account.email} />
        <p className="muted small">The same restore from a terminal:</p>
        <pre className="command mono" data-testid="plan-command">
          {plan.command}
        </pre>
      </div>
    </section>
  );
}

/** Runs the planned restore as a job, into a new account: the original is never touched here. */
function RunRestore({ stores, toMs, email }: { stores: Stores; toMs: number; email: string }) {
  const serverId = stores.ui((s) => s.serverId);
  const [prefix, setPrefix] = useState('restored_');
  const [jobId, setJobId] = useState<string>();
  const job = stores.jobs((s) => (jobId ? s.jobs[jobId] : undefined));
  const error = stores.jobs((s) => s.error);
  const busy = stores.jobs((s) =>
    jobList(s.jobs).some((j) => j.state === 'running' && j.serverId === serverId),
  );
  return (
    <>
      <h3 className="subhead">Restore into a new account</h3>
      <div className="inline">
        <input
          aria-label="Prefix of the new account"
          data-testid="restore-prefix"
          value={prefix}
          onChange={(e) => setPrefix(e.target.value)}
        />
        <span className="muted restore-as mono">
          → {prefix}
          {email}
        </span>
        <button
          className="primary"
          data-testid="restore-run"
          disabled={!serverId || busy || !/^[a-z0-9._-]{1,32}$/i.test(prefix)}
          onClick={() =>
            void stores.jobs
              .getState()
              .restore(serverId!, email, toMs, prefix)
              .then((started) => started && setJobId(started.id))
          }
        >
          Restore
        </button>
      </div>
      {error && !job && (
        <p className="notice notice-error" role="alert">
          {error.message}
        </p>
      )}
      {job && <JobCard job={job} onAbort={() => void stores.jobs.getState().abort(job.id)} />}
    </>
  );
}
