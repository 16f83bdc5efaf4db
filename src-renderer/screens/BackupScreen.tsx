import { useState } from 'react';
import type { JobSnapshot } from '../../src-main/api/contract';
import { ServerPicker } from '../components/ServerPicker';
import { formatBytes, formatDuration, formatRate, formatTime } from '../format';
import type { Stores } from '../stores';
import { jobList } from '../stores/jobs';

export function BackupScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const server = stores.console((s) => s.servers.find((x) => x.id === serverId));
  const jobs = stores.jobs((s) => s.jobs);
  const error = stores.jobs((s) => s.error);
  const [kind, setKind] = useState<'full' | 'incremental'>('full');
  const [which, setWhich] = useState<'all' | 'chosen'>('all');
  const [accounts, setAccounts] = useState('');
  const all = jobList(jobs);
  const running = all.find((j) => j.serverId === serverId && j.state === 'running');
  const latest = all.find((j) => j.serverId === serverId && j.operation !== 'restore.account');
  const chosen = accounts.split(/[\s,;]+/).filter(Boolean);

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="backup-title">
        <div className="panel-head">
          <h2 id="backup-title">Backup</h2>
          <span className="spacer" />
          <ServerPicker stores={stores} />
        </div>
        <div className="form">
          <fieldset className="segmented">
            <legend>Kind</legend>
            <label>
              <input
                type="radio"
                name="kind"
                checked={kind === 'full'}
                onChange={() => setKind('full')}
                data-testid="kind-full"
              />
              Full — every mailbox, as it is now
            </label>
            <label>
              <input
                type="radio"
                name="kind"
                checked={kind === 'incremental'}
                onChange={() => setKind('incremental')}
                data-testid="kind-incremental"
              />
              Incremental — the redo logs since the last backup
            </label>
          </fieldset>
          <fieldset className="segmented">
            <legend>Accounts</legend>
            <label>
              <input type="radio" name="which" checked={which === 'all'} onChange={() => setWhich('all')} />
              All accounts on the server
            </label>
            <label>
              <input
                type="radio"
                name="which"
                checked={which === 'chosen'}
                onChange={() => setWhich('chosen')}
                data-testid="accounts-chosen"
              />
              Only these
            </label>
          </fieldset>
          {which === 'chosen' && (
            <label className="wide">
              <span>Account addresses (space or comma separated)</span>
              <input
                data-testid="accounts-list"
                value={accounts}
                onChange={(e) => setAccounts(e.target.value)}
                placeholder="anna@example.com, bob@example.com"
              />
            </label>
          )}
          {server && (
            <p className="muted small">
              Into <span className="mono">{server.target ?? '—'}</span>
            </p>
          )}
          {error && (
            <p className="notice notice-error" role="alert" data-testid="backup-error">
              {error.message}
            </p>
          )}
          <div className="buttons">
            <button
              className="primary"
              data-testid="start-backup"
              disabled={!serverId || !!running || (which === 'chosen' && chosen.length === 0)}
              onClick={() =>
                void stores.jobs
                  .getState()
                  .start(
                    serverId!,
                    kind === 'full' ? 'backup.full' : 'backup.incremental',
                    which === 'all' ? 'all' : chosen,
                  )
              }
            >
              Start {kind} backup
            </button>
          </div>
        </div>
      </section>
      {latest && <JobCard job={latest} onAbort={() => void stores.jobs.getState().abort(latest.id)} />}
      {all.length > 1 && <JobHistory jobs={all} />}
    </div>
  );
}

const TITLES: Record<JobSnapshot['operation'], string> = {
  'backup.full': 'Full backup',
  'backup.incremental': 'Incremental backup',
  'restore.account': 'Restore',
  'standby.failover': 'Standby failover',
};

export function JobCard({ job, onAbort }: { job: JobSnapshot; onAbort(): void }) {
  const p = job.progress;
  const total = p?.accountsTotal ?? null;
  const percent = total ? Math.round((100 * (p?.accountsDone ?? 0)) / Math.max(1, total)) : null;
  const running = job.state === 'running';
  return (
    <section
      className={`panel job job-${job.state}`}
      data-testid="job-card"
      data-job-id={job.id}
      data-state={job.state}
      aria-live="polite"
    >
      <div className="panel-head">
        <h2>
          {TITLES[job.operation]} on {job.serverName}
        </h2>
        <span className={`status status-${stateClass(job.state)}`} data-testid="job-state">
          {job.aborting && running ? 'stopping…' : job.state}
        </span>
        <span className="spacer" />
        {running && (
          <button className="danger" data-testid="abort-backup" onClick={onAbort} disabled={job.aborting}>
            Abort
          </button>
        )}
      </div>
      <div className="job-body">
        {job.label && (
          <p className="mono small" data-testid="job-label">
            {job.label}
          </p>
        )}
        {running && (
          <>
            <div
              className="progress"
              role="progressbar"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={percent ?? undefined}
            >
              <div
                className={percent === null ? 'bar indeterminate' : 'bar'}
                style={percent === null ? undefined : { width: `${percent}%` }}
              />
            </div>
            {job.operation === 'restore.account' || job.operation === 'standby.failover' ? (
              <p className="mono small" data-testid="progress-current">
                {p?.message ?? 'starting…'}
              </p>
            ) : (
              <dl className="facts" data-testid="job-progress">
                <div>
                  <dt>Accounts</dt>
                  <dd data-testid="progress-accounts">
                    {p ? `${p.accountsDone} / ${total ?? '…'}` : 'starting…'}
                    {p && p.accountErrors > 0 && (
                      <span className="status status-error"> {p.accountErrors} failed</span>
                    )}
                  </dd>
                </div>
                <div>
                  <dt>Written</dt>
                  <dd>{formatBytes(p?.bytes ?? 0)}</dd>
                </div>
                <div>
                  <dt>Rate</dt>
                  <dd>{formatRate(p?.bytesPerSec ?? null)}</dd>
                </div>
                <div>
                  <dt>Time left</dt>
                  <dd>{p?.etaMs != null ? `about ${formatDuration(p.etaMs)}` : '—'}</dd>
                </div>
                <div className="wide">
                  <dt>Now</dt>
                  <dd className="mono" data-testid="progress-current">
                    {p?.currentAccount ?? p?.message ?? '—'}
                  </dd>
                </div>
              </dl>
            )}
          </>
        )}
        {!running && (
          <div data-testid="job-result">
            <p>
              {job.state === 'succeeded' ? 'Finished' : job.state === 'aborted' ? 'Stopped' : 'Failed'} after{' '}
              {formatDuration((job.endedAt ?? job.startedAt) - job.startedAt)}, at{' '}
              {formatTime(job.endedAt ?? job.startedAt)}.
            </p>
            {job.error && (
              <p className="notice notice-error" data-testid="job-error">
                {job.error.message}
              </p>
            )}
            {job.sessions.map((s) => (
              <div
                key={s.label}
                className="result-session"
                data-testid="result-session"
                data-status={s.status}
              >
                <span className="mono">{s.label}</span> — <strong>{s.status}</strong>: {s.accounts} account(s)
                {s.accountErrors > 0 && `, ${s.accountErrors} failed`}, {formatBytes(s.bytes)}
                {s.errors.length > 0 && (
                  <ul className="errors">
                    {s.errors.map((e) => (
                      <li key={e}>{e}</li>
                    ))}
                  </ul>
                )}
              </div>
            ))}
            {job.restored?.map((a) => (
              <div
                key={a.email}
                className="result-session"
                data-testid="result-restored"
                data-status={a.status}
              >
                <span className="mono">{a.email}</span> → <strong>{a.restoredAs ?? '—'}</strong>: {a.status}
                {a.error && <div className="detail">{a.error}</div>}
              </div>
            ))}
            {job.warnings.length > 0 && (
              <ul className="warnings">
                {job.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function JobHistory({ jobs }: { jobs: JobSnapshot[] }) {
  return (
    <section className="panel" aria-labelledby="history-title">
      <div className="panel-head">
        <h2 id="history-title">Jobs since the console started</h2>
      </div>
      <table className="job-history" data-testid="job-history">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Server</th>
            <th scope="col">Kind</th>
            <th scope="col">Outcome</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id}>
              <td>{formatTime(j.startedAt)}</td>
              <td>{j.serverName}</td>
              <td>{TITLES[j.operation].toLowerCase()}</td>
              <td>
                <span className={`status status-${stateClass(j.state)}`}>{j.state}</span>
              </td>
              <td>{j.endedAt ? formatDuration(j.endedAt - j.startedAt) : 'running'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function stateClass(state: JobSnapshot['state']): string {
  return state === 'succeeded'
    ? 'online'
    : state === 'running'
      ? 'starting'
      : state === 'aborted'
        ? 'warn'
        : 'error';
}
