import { useEffect, useState } from 'react';
import type { ScheduleAttempt, ScheduleEntryInput, ScheduleRun } from '../../src-main/api/contract';
import { ScheduleEntryForm } from '../components/ScheduleEntryForm';
import { ServerPicker } from '../components/ServerPicker';
import { formatTime } from '../format';
import { entryText, KIND_LABEL } from '../schedule-text';
import type { Stores } from '../stores';

/** zmschedulebackup -D: full Saturday 01:00, incremental Sunday–Friday 01:00, delete older than a month at midnight. */
const ZIMBRA_DEFAULT: ScheduleEntryInput[] = [
  { kind: 'full', cron: '0 1 * * 6' },
  { kind: 'incremental', cron: '0 1 * * 0-5' },
  { kind: 'delete', cron: '0 0 * * *', age: '1m' },
];

const strip = (e: ScheduleEntryInput): ScheduleEntryInput => ({
  kind: e.kind,
  cron: e.cron,
  ...(e.age ? { age: e.age } : {}),
});

/**
 * A server's backup schedule (issue 10): the entries as readable rows, edited as a draft and
 * installed in one go (schedules.save, checked by zmschedulebackup's rules), where they are
 * installed, the next week's runs, the runs missed (no attempt on record) and the attempts.
 */
export function ScheduleScreen({ stores }: { stores: Stores }) {
  const serverId = stores.ui((s) => s.serverId);
  const s = stores.schedule();
  const [draft, setDraft] = useState<ScheduleEntryInput[] | undefined>();
  const [editing, setEditing] = useState<number | 'new' | undefined>();

  useEffect(() => {
    if (!serverId) return;
    setDraft(undefined);
    setEditing(undefined);
    void stores.schedule.getState().load(serverId);
  }, [serverId, stores]);

  const data = s.serverId === serverId ? s.data : undefined;
  const entries = draft ?? data?.entries.map(strip) ?? [];
  const changed = draft !== undefined;

  function apply(entry: ScheduleEntryInput) {
    const next = [...entries];
    if (editing === 'new') next.push(entry);
    else if (editing !== undefined) next[editing] = entry;
    setDraft(next);
    setEditing(undefined);
  }
  async function save() {
    if (await stores.schedule.getState().save(entries)) setDraft(undefined);
  }
  async function removeAll() {
    if (!window.confirm('Remove the whole schedule from the crontab? Backups already made stay.')) return;
    await stores.schedule.getState().remove();
    setDraft(undefined);
  }

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="schedule-title">
        <div className="panel-head">
          <h2 id="schedule-title">Schedule</h2>
          {data && <span className="count">{entries.length}</span>}
          <span className="spacer" />
          <ServerPicker stores={stores} testId="schedule-server" />
        </div>
        {s.status === 'loading' && <p className="notice">Reading the crontab…</p>}
        {s.error && (
          <p className="notice notice-error" role="alert" data-testid="schedule-error">
            {s.error.message}
          </p>
        )}
        {data && (
          <p className="notice" data-testid="schedule-place">
            {data.place.kind === 'workstation'
              ? `Installed in this machine's crontab (${data.place.crontab}): backups are pulled over SSH into ${stores.console.getState().servers.find((x) => x.id === serverId)?.target ?? 'the target'}.`
              : `Installed in the crontab of ${data.place.where} (${data.place.crontab}).`}
            {data.problems.map((p) => (
              <span key={p} className="detail">
                Could not read {p}
              </span>
            ))}
          </p>
        )}
        {data && entries.length === 0 && editing === undefined && (
          <p className="notice" data-testid="schedule-empty">
            No schedule: backups of this server run only when started by hand.
          </p>
        )}
        {entries.length > 0 && (
          <table className="schedule-entries">
            <thead>
              <tr>
                <th>Entry</th>
                <th>Zimbra syntax</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {entries.map((e, i) => (
                <tr key={`${i}-${e.kind}-${e.cron}`} data-testid="schedule-entry" data-kind={e.kind}>
                  <td>{entryText(e)}</td>
                  <td className="mono muted">
                    {changed ? `${e.kind[0]}${e.age ? ` ${e.age}` : ''} ${e.cron}` : data?.entries[i]?.zimbra}
                  </td>
                  <td className="row-actions">
                    <button onClick={() => setEditing(i)} data-testid="entry-edit">
                      Edit
                    </button>
                    <button
                      onClick={() => setDraft(entries.filter((_, j) => j !== i))}
                      data-testid="entry-delete"
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {editing !== undefined && (
          <ScheduleEntryForm
            key={String(editing)}
            initial={editing === 'new' ? { kind: 'incremental', cron: '0 1 * * 1-5' } : entries[editing]!}
            onApply={apply}
            onCancel={() => setEditing(undefined)}
          />
        )}
        <div className="buttons panel-foot">
          <button onClick={() => setEditing('new')} disabled={!data} data-testid="entry-add">
            Add entry
          </button>
          <button onClick={() => setDraft(ZIMBRA_DEFAULT)} disabled={!data} data-testid="schedule-default">
            Zimbra's default
          </button>
          <span className="spacer" />
          {changed && (
            <button onClick={() => setDraft(undefined)} data-testid="schedule-discard">
              Discard changes
            </button>
          )}
          <button
            onClick={() => void removeAll()}
            disabled={!data || data.entries.length === 0 || s.saving}
            data-testid="schedule-remove"
          >
            Remove schedule
          </button>
          <button
            className="primary"
            onClick={() => void save()}
            disabled={!changed || s.saving || editing !== undefined}
            data-testid="schedule-save"
          >
            {s.saving ? 'Installing…' : 'Install schedule'}
          </button>
        </div>
      </section>
      {data && <Runs next={data.next} missed={data.missed} />}
      {data && <Attempts attempts={data.attempts} />}
    </div>
  );
}

function Runs({ next, missed }: { next: ScheduleRun[]; missed: ScheduleRun[] }) {
  return (
    <section className="panel" aria-labelledby="runs-title">
      <div className="panel-head">
        <h2 id="runs-title">Runs</h2>
        <span className="muted small">next 7 days, and those missed</span>
      </div>
      {missed.length > 0 && (
        <ul className="run-list" data-testid="missed-runs">
          {[...missed].reverse().map((r) => (
            <li key={`m-${r.kind}-${r.atMs}`} className="run run-missed" data-testid="missed-run">
              <span className="tag tag-doomed">Missed</span>
              <span className="mono">{when(r.atMs)}</span>
              <span>{KIND_LABEL[r.kind]}</span>
              <span className="detail">no run on record (was the machine off, or cron stopped?)</span>
            </li>
          ))}
        </ul>
      )}
      {next.length === 0 ? (
        <p className="notice" data-testid="next-none">
          No run planned in the next 7 days.
        </p>
      ) : (
        <ul className="run-list run-grid" data-testid="next-runs">
          {next.map((r) => (
            <li key={`n-${r.kind}-${r.atMs}`} className="run" data-testid="next-run" data-kind={r.kind}>
              <span className="mono">{when(r.atMs)}</span>
              <span>{KIND_LABEL[r.kind]}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const WEEKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const when = (ms: number) => `${WEEKDAY[new Date(ms).getDay()]} ${formatTime(ms, false)}`;

const STATUS_CLASS: Record<ScheduleAttempt['status'], string> = {
  running: 'status status-starting',
  succeeded: 'status status-online',
  failed: 'status status-error',
  interrupted: 'status status-warn',
};

function Attempts({ attempts }: { attempts: ScheduleAttempt[] }) {
  return (
    <section className="panel" aria-labelledby="attempts-title">
      <div className="panel-head">
        <h2 id="attempts-title">Scheduled runs on record</h2>
        <span className="count">{attempts.length}</span>
      </div>
      {attempts.length === 0 ? (
        <p className="notice" data-testid="attempts-none">
          No scheduled run has been recorded in the target yet.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="schedule-attempts">
            <thead>
              <tr>
                <th>Started</th>
                <th>Kind</th>
                <th>Result</th>
                <th>Sessions / error</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.id} data-testid="attempt" data-status={a.status}>
                  <td className="mono">{formatTime(a.startMs)}</td>
                  <td>{KIND_LABEL[a.kind]}</td>
                  <td>
                    <span className={STATUS_CLASS[a.status]}>{a.status}</span>
                    {a.exitCode !== null && a.exitCode !== 0 && (
                      <div className="detail">exit status {a.exitCode}</div>
                    )}
                  </td>
                  <td>
                    {a.error ? (
                      <span className="attempt-error" data-testid="attempt-error">
                        {a.error}
                      </span>
                    ) : (
                      <span className="mono small">{a.labels.join(', ') || '—'}</span>
                    )}
                    {a.report && !a.report.sent && (
                      <div className="detail">report mail not sent: {a.report.error}</div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
