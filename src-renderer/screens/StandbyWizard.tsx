import { useEffect, useRef, useState } from 'react';
import type { JobSnapshot, StandbyFailoverReport } from '../../src-main/api/contract';
import { formatDuration, formatTime } from '../format';
import type { Stores } from '../stores';

const STEPS = ['Choose the set', 'Confirm', 'Replay', 'Report'];

/** A datetime-local input's value → ms, or undefined when empty or not a time. */
function timeOf(value: string): number | undefined {
  const ms = value ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The failover wizard: 1 the set (the newest complete one: the engine loads it, and replay from
 * its time brings every mailbox forward), 2 the data-loss window in full view and the standby's
 * name typed to confirm, 3 live replay progress, 4 the report. Esc closes it before it runs.
 */
export function StandbyWizard({ stores }: { stores: Stores }) {
  const sb = stores.standby();
  const job = stores.jobs((s) => (sb.jobId ? s.jobs[sb.jobId] : undefined));
  const [failedAt, setFailedAt] = useState('');
  const [typed, setTyped] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const index =
    sb.step === 'choose' ? 0 : sb.step === 'confirm' ? 1 : job?.state === 'running' || !job ? 2 : 3;

  // Focus follows the step, so the keyboard user is where the wizard is.
  useEffect(() => heading.current?.focus(), [index]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && (sb.step === 'choose' || sb.step === 'confirm')) sb.closeWizard();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [sb]);

  const standbyName = sb.status?.standby.name ?? '';
  const complete = [...(sb.status?.sets ?? [])].reverse().filter((s) => s.complete);
  return (
    <section
      className="panel wizard"
      aria-labelledby="wizard-title"
      data-testid="failover-wizard"
      data-step={index + 1}
    >
      <div className="panel-head">
        <h2 id="wizard-title" ref={heading} tabIndex={-1}>
          Fail over to {standbyName}
        </h2>
        <ol className="wizard-steps" aria-label="Steps">
          {STEPS.map((label, i) => (
            <li
              key={label}
              className={i === index ? 'current' : i < index ? 'done' : ''}
              aria-current={i === index ? 'step' : undefined}
            >
              <span className="wizard-num">{i + 1}</span> {label}
            </li>
          ))}
        </ol>
      </div>
      <div className="job-body">
        {sb.error && (
          <p className="notice notice-error" role="alert" data-testid="wizard-error">
            {sb.error.message}
          </p>
        )}
        {sb.step === 'choose' && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void sb.review(timeOf(failedAt));
            }}
          >
            <fieldset className="set-choice">
              <legend>The set loaded on {standbyName}</legend>
              {complete.map((s, i) => (
                <label key={s.fromTime} className={i === 0 ? 'choice' : 'choice disabled'}>
                  <input
                    type="radio"
                    name="set"
                    defaultChecked={i === 0}
                    disabled={i !== 0}
                    data-testid="wizard-set"
                  />
                  <span className="mono">{formatTime(s.fromTime)}</span>
                  {i === 0 ? (
                    <span className="tag">newest complete</span>
                  ) : (
                    <span className="muted small"> older: a failover loads the newest complete set</span>
                  )}
                </label>
              ))}
            </fieldset>
            <div className="form-grid">
              <label>
                <span>When the primary failed (optional: else now)</span>
                <input
                  type="datetime-local"
                  step={1}
                  data-testid="wizard-failed-at"
                  value={failedAt}
                  onChange={(e) => setFailedAt(e.target.value)}
                />
              </label>
            </div>
            <div className="buttons">
              <button
                type="submit"
                className="primary"
                data-testid="wizard-next"
                disabled={sb.busy === 'preview'}
              >
                {sb.busy === 'preview' ? 'Reading…' : 'Next: review what is lost'}
              </button>
              <button type="button" onClick={() => sb.closeWizard()} data-testid="wizard-cancel">
                Cancel
              </button>
            </div>
          </form>
        )}
        {sb.step === 'confirm' && sb.preview && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (typed.trim() === standbyName) void sb.start(typed, timeOf(failedAt));
            }}
          >
            <div className="data-loss" data-testid="data-loss" data-ms={sb.preview.dataLoss.ms}>
              <div className="data-loss-title">Mail committed in this window is lost</div>
              <div className="data-loss-range mono">
                {formatTime(sb.preview.dataLoss.from)} → {formatTime(sb.preview.dataLoss.to)}
              </div>
              <div>
                {formatDuration(sb.preview.dataLoss.ms)}: from the last redo-log snapshot to{' '}
                {sb.preview.dataLoss.toIsFailureTime ? 'the failure' : 'now (no failure time given)'}.
              </div>
            </div>
            <dl className="facts">
              <div>
                <dt>Set loaded</dt>
                <dd className="mono">{formatTime(sb.preview.fromTime)}</dd>
              </div>
              <div>
                <dt>Replay from</dt>
                <dd className="mono" data-testid="preview-from">
                  {formatTime(sb.preview.fromTime)}
                </dd>
              </div>
              <div>
                <dt>Last redo-log snapshot</dt>
                <dd className="mono">{formatTime(sb.preview.lastRedoSnapshot)}</dd>
              </div>
              <div>
                <dt>Ops to replay</dt>
                <dd data-testid="preview-ops">
                  {sb.preview.mailboxes
                    ? `${sb.preview.mailboxes.reduce((n, m) => n + m.ops, 0)} in ${sb.preview.mailboxes.length} mailbox(es)`
                    : 'counted during the failover'}
                </dd>
              </div>
            </dl>
            {sb.preview.warnings.map((w) => (
              <p key={w} className="notice notice-warn">
                {w}
              </p>
            ))}
            <p>
              {standbyName}&apos;s database, blob and index volumes and redo logs are overwritten by the set.
              Its mailboxd must be stopped. Type <strong className="mono">{standbyName}</strong> to confirm.
            </p>
            <div className="inline">
              <input
                aria-label="The standby's name, to confirm"
                data-testid="wizard-confirm-name"
                value={typed}
                autoComplete="off"
                onChange={(e) => setTyped(e.target.value)}
              />
              <button
                type="submit"
                className="danger"
                data-testid="wizard-failover"
                disabled={typed.trim() !== standbyName || sb.busy === 'start'}
              >
                Fail over now
              </button>
              <button type="button" onClick={() => sb.back()} data-testid="wizard-back">
                Back
              </button>
            </div>
          </form>
        )}
        {sb.step === 'job' && job && <JobView job={job} onClose={() => sb.closeWizard()} />}
      </div>
    </section>
  );
}

function JobView({ job, onClose }: { job: JobSnapshot; onClose(): void }) {
  const p = job.progress;
  const ops = p?.ops;
  const percent = ops && ops.total ? Math.round((100 * ops.done) / Math.max(1, ops.total)) : null;
  if (job.state === 'running')
    return (
      <div data-testid="failover-progress">
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
        <dl className="facts">
          <div>
            <dt>Mailboxes</dt>
            <dd data-testid="progress-mailboxes">
              {p?.accountsTotal != null ? `${p.accountsDone} / ${p.accountsTotal}` : '…'}
            </dd>
          </div>
          <div>
            <dt>Ops replayed</dt>
            <dd data-testid="progress-ops">{ops ? `${ops.done} / ${ops.total ?? '…'}` : '…'}</dd>
          </div>
          <div className="wide">
            <dt>Now</dt>
            <dd className="mono" data-testid="progress-step">
              {p?.message ?? 'starting…'}
            </dd>
          </div>
        </dl>
      </div>
    );
  return (
    <div data-testid="failover-report" data-state={job.state}>
      <p className={job.state === 'succeeded' ? 'notice notice-ok' : 'notice notice-error'} role="status">
        {job.state === 'succeeded'
          ? `Failover done in ${formatDuration((job.endedAt ?? job.startedAt) - job.startedAt)}: the standby holds the primary's mail up to its last redo-log snapshot. Reroute users to it (DNS or the primary's host name).`
          : (job.error?.message ?? `The failover ${job.state}.`)}
      </p>
      {job.failover && <Report report={job.failover} />}
      <div className="buttons">
        <button onClick={onClose} data-testid="wizard-close">
          Close
        </button>
      </div>
    </div>
  );
}

function Report({ report }: { report: StandbyFailoverReport }) {
  const d = report.dataLoss;
  return (
    <>
      <div className="data-loss" data-testid="report-data-loss">
        <div className="data-loss-title">Lost: committed after the last redo-log snapshot</div>
        <div className="data-loss-range mono">
          {formatTime(d.from)} → {formatTime(d.to)} ({formatDuration(d.to - d.from)})
        </div>
        <div>
          {d.toIsFailureTime ? 'to the failure time given' : 'to the moment of the failover'}; last commit in
          the standby&apos;s logs {d.lastCommitInLogs ? formatTime(d.lastCommitInLogs) : '—'}.
        </div>
      </div>
      <dl className="facts">
        <div>
          <dt>Replayed from</dt>
          <dd className="mono">{formatTime(report.replayFrom)}</dd>
        </div>
        <div>
          <dt>Ops applied</dt>
          <dd data-testid="report-applied">{report.applied}</dd>
        </div>
        <div>
          <dt>Already in the set</dt>
          <dd>{report.alreadyPresent}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="report-errors">{report.errors.length}</dd>
        </div>
      </dl>
      <table className="account-table" data-testid="report-mailboxes">
        <thead>
          <tr>
            <th scope="col">Mailbox</th>
            <th scope="col">Replayed</th>
            <th scope="col">Already present</th>
            <th scope="col">Index</th>
          </tr>
        </thead>
        <tbody>
          {report.mailboxes.map((m) => (
            <tr
              key={m.mailboxId}
              className={m.errors ? 'failed' : undefined}
              data-testid="report-mailbox"
              data-email={m.email}
            >
              <td>
                {m.email || `mailbox ${m.mailboxId}`}
                {m.errors > 0 && <span className="status status-error"> {m.errors} error(s)</span>}
              </td>
              <td data-testid="report-replayed">{m.replayed}</td>
              <td>{m.alreadyPresent}</td>
              <td className="small muted">{m.reindex ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.errors.length > 0 && (
        <ul className="errors small">
          {report.errors.slice(0, 20).map((e, i) => (
            <li key={i}>
              mailbox {e.mailboxId} {e.op}: {e.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
