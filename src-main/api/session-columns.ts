import type {
  ServerTimeline,
  SessionColumns,
  SessionInfo,
  SessionOutcome,
  SessionRow,
  TimelineWire,
} from './contract';

/**
 * The lean wire form of a server's session list (sessions.list): one array per field, no host
 * name, no error texts, no redo ranges (sessions.get gives those for one session). A year of
 * sessions is then ~10× smaller than the objects it stands for and parses as a few flat number
 * arrays. Pure code without Node imports: the renderer decodes with it.
 */
export const OUTCOMES: readonly SessionOutcome[] = [
  'completed',
  'completed with errors',
  'aborted',
  'failed',
  'in progress',
  'abandoned',
  'invalid',
];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The label a session starting at startMs gets (engine/target/labels formatLabel: GMT, to the ms). */
export function labelOf(type: SessionInfo['type'], startMs: number): string {
  const d = new Date(startMs);
  return (
    `${type === 'full' ? 'full' : 'incr'}-${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}` +
    `.${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

export function encodeSessions(sessions: readonly SessionInfo[]): SessionColumns {
  const columns: SessionColumns = {
    start: [],
    took: [],
    kind: [],
    accounts: [],
    accountErrors: [],
    bytes: [],
    labels: {},
  };
  let previous = 0;
  sessions.forEach((s, i) => {
    columns.start.push(s.startMs - previous);
    previous = s.startMs;
    columns.took.push(s.endMs === null ? -1 : s.endMs - s.startMs);
    const outcome = OUTCOMES.indexOf(s.status);
    columns.kind.push(
      (outcome < 0 ? OUTCOMES.indexOf('invalid') : outcome) * 2 + (s.type === 'full' ? 0 : 1),
    );
    columns.accounts.push(s.accounts);
    columns.accountErrors.push(s.accountErrors);
    columns.bytes.push(s.bytes);
    // Engine labels are the type and start time; only a label that is not is sent.
    if (s.label !== labelOf(s.type, s.startMs)) columns.labels[i] = s.label;
  });
  return columns;
}

/**
 * A decoded session. Its label is made on first use: a year of sessions is drawn from their times
 * alone, and formatting 5,000 dates before the first paint would only delay it.
 */
class Row implements SessionRow {
  #label: string | undefined;
  constructor(
    readonly type: SessionRow['type'],
    readonly startMs: number,
    readonly endMs: number | null,
    readonly status: SessionOutcome,
    readonly accounts: number,
    readonly accountErrors: number,
    readonly bytes: number,
    label: string | undefined,
  ) {
    this.#label = label;
  }
  get label(): string {
    return (this.#label ??= labelOf(this.type, this.startMs));
  }
  /** A plain object (JSON, spreading and test equality see only own fields). */
  toJSON(): SessionRow {
    const { label, type, startMs, endMs, status, accounts, accountErrors, bytes } = this;
    return { label, type, startMs, endMs, status, accounts, accountErrors, bytes };
  }
}

/** Back to one row per session, in the order sent (oldest first). */
export function decodeSessions(c: SessionColumns): SessionRow[] {
  const rows: SessionRow[] = new Array<SessionRow>(c.start.length);
  let startMs = 0;
  for (let i = 0; i < c.start.length; i++) {
    startMs += c.start[i]!;
    const took = c.took[i]!;
    const kind = c.kind[i]!;
    rows[i] = new Row(
      kind % 2 === 0 ? 'full' : 'incremental',
      startMs,
      took < 0 ? null : startMs + took,
      OUTCOMES[kind >> 1] ?? 'invalid',
      c.accounts[i]!,
      c.accountErrors[i]!,
      c.bytes[i]!,
      c.labels[i],
    );
  }
  return rows;
}

/** A full timeline as sessions.list sends it. */
export function wireOf(timeline: ServerTimeline): TimelineWire {
  return { ...timeline, sessions: encodeSessions(timeline.sessions) };
}
