import { useState } from 'react';
import type { ScheduleEntryInput } from '../../src-main/api/contract';
import { cronOf, DAYS, KIND_LABEL, simpleOf } from '../schedule-text';

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * One schedule entry being edited: its kind, when (weekday and time pickers, or the cron text
 * for anything the pickers cannot say) and, for deletes, the age of the sessions that go. The
 * main side checks the cron and age with zmschedulebackup's own rules when the schedule is saved.
 */
export function ScheduleEntryForm({
  initial,
  onApply,
  onCancel,
}: {
  initial: ScheduleEntryInput;
  onApply: (entry: ScheduleEntryInput) => void;
  onCancel: () => void;
}) {
  const [kind, setKind] = useState(initial.kind);
  const simple = simpleOf(initial.cron);
  const [mode, setMode] = useState<'simple' | 'cron'>(simple ? 'simple' : 'cron');
  const [days, setDays] = useState<number[]>(simple?.days ?? [6]);
  const [time, setTime] = useState(simple ? `${pad(simple.hour)}:${pad(simple.minute)}` : '01:00');
  const [cron, setCron] = useState(initial.cron);
  const age = /^(\d+)([dmy])$/.exec(initial.age ?? '1m');
  const [ageAmount, setAgeAmount] = useState(age ? Number(age[1]) : 1);
  const [ageUnit, setAgeUnit] = useState(age ? age[2]! : 'm');

  function apply() {
    const [h, m] = time.split(':').map(Number);
    const when = mode === 'simple' ? cronOf({ hour: h ?? 0, minute: m ?? 0, days }) : cron.trim();
    onApply({ kind, cron: when, ...(kind === 'delete' ? { age: `${ageAmount}${ageUnit}` } : {}) });
  }
  const toggle = (d: number) => setDays(days.includes(d) ? days.filter((x) => x !== d) : [...days, d]);

  return (
    <div className="form schedule-form" data-testid="entry-form">
      <div className="inline">
        <label className="picker">
          <span>Kind</span>
          <select
            data-testid="entry-kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as ScheduleEntryInput['kind'])}
          >
            {(Object.keys(KIND_LABEL) as ScheduleEntryInput['kind'][]).map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </label>
        {kind === 'delete' && (
          <label className="picker">
            <span>Sessions older than</span>
            <input
              className="narrow"
              type="number"
              min={1}
              data-testid="entry-age-amount"
              value={ageAmount}
              onChange={(e) => setAgeAmount(Math.max(1, Math.floor(Number(e.target.value) || 1)))}
            />
            <select data-testid="entry-age-unit" value={ageUnit} onChange={(e) => setAgeUnit(e.target.value)}>
              <option value="d">days</option>
              <option value="m">months</option>
              <option value="y">years</option>
            </select>
          </label>
        )}
      </div>
      <fieldset className="segmented">
        <legend>When</legend>
        <label>
          <input
            type="radio"
            name="when-mode"
            checked={mode === 'simple'}
            onChange={() => setMode('simple')}
            data-testid="entry-mode-simple"
          />
          Days and time
        </label>
        <label>
          <input
            type="radio"
            name="when-mode"
            checked={mode === 'cron'}
            onChange={() => setMode('cron')}
            data-testid="entry-mode-cron"
          />
          Cron (minute hour day month weekday)
        </label>
      </fieldset>
      {mode === 'simple' ? (
        <div className="inline schedule-days">
          {DAYS.map((name, d) => (
            <label key={name} className="check">
              <input
                type="checkbox"
                checked={days.includes(d)}
                onChange={() => toggle(d)}
                data-testid={`entry-day-${d}`}
              />
              {name.slice(0, 3)}
            </label>
          ))}
          <input
            type="time"
            data-testid="entry-time"
            aria-label="Time"
            value={time}
            onChange={(e) => setTime(e.target.value)}
          />
        </div>
      ) : (
        <input
          className="mono"
          data-testid="entry-cron"
          aria-label="Cron time"
          value={cron}
          placeholder="0 1 * * 6"
          onChange={(e) => setCron(e.target.value)}
        />
      )}
      <div className="buttons">
        <button
          className="primary"
          data-testid="entry-apply"
          onClick={apply}
          disabled={mode === 'simple' && days.length === 0}
        >
          Apply
        </button>
        <button onClick={onCancel} data-testid="entry-cancel">
          Cancel
        </button>
      </div>
    </div>
  );
}
