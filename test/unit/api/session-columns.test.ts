import { describe, expect, it } from 'vitest';
import type { SessionInfo, SessionRow } from '../../../src-main/api/contract';
import {
  decodeSessions,
  encodeSessions,
  labelOf,
  OUTCOMES,
  wireOf,
} from '../../../src-main/api/session-columns';
import { redoCoverage } from '../../../src-main/api/timeline';
import { formatLabel } from '../../../src-main/engine/target/labels';
import { yearOfSessions } from '../../e2e/fake-timeline';

/** What the list keeps of a full session: the fields sessions.get does not have to give. */
const rowOf = (s: SessionInfo): SessionRow => ({
  label: s.label,
  type: s.type,
  startMs: s.startMs,
  endMs: s.endMs,
  status: s.status,
  accounts: s.accounts,
  accountErrors: s.accountErrors,
  bytes: s.bytes,
});
const plain = (rows: SessionRow[]) => rows.map((r) => JSON.parse(JSON.stringify(r)) as SessionRow);

describe('the lean session list (sessions.list)', () => {
  it('decodes a year of 5,000 sessions back to their list fields, ~10x smaller than the full objects', () => {
    const sessions = yearOfSessions(5000, Date.UTC(2026, 11, 1));
    const { coverage, gaps } = redoCoverage(sessions);
    const full = { serverId: 'mail1', sessions, coverage, gaps };
    const wire = wireOf(full);
    expect(plain(decodeSessions(wire.sessions))).toEqual(sessions.map(rowOf));
    expect(wire.coverage).toEqual(coverage);
    expect(wire.gaps).toEqual(gaps);
    // Engine labels are not sent: they are the type and start time.
    expect(Object.keys(wire.sessions.labels)).toEqual([]);
    const size = JSON.stringify(wire).length;
    expect(size * 8).toBeLessThan(JSON.stringify(full).length);
    // No host names, error texts or redo ranges on the wire.
    expect(JSON.stringify(wire)).not.toMatch(/example\.com|mailbox locked/);
  });

  it('makes the labels the engine makes', () => {
    for (const ms of [0, 1, Date.UTC(2026, 0, 1, 23, 59, 59, 999), Date.UTC(2031, 6, 4, 5, 6, 7, 8)])
      for (const type of ['full', 'incremental'] as const)
        expect(labelOf(type, ms)).toBe(formatLabel(type, ms));
  });

  it('keeps every outcome, a session still running, labels of its own and starts out of order', () => {
    const base: SessionInfo = {
      label: '',
      type: 'full',
      startMs: 0,
      endMs: null,
      status: 'completed',
      hostname: 'h',
      accounts: 3,
      accountErrors: 1,
      bytes: 2 ** 40 + 7,
      errors: ['x'],
      redoLogs: 2,
      redoTimeMs: null,
      redoSeq: null,
    };
    const sessions = OUTCOMES.map((status, i): SessionInfo => {
      const startMs = Date.UTC(2026, 1, 1) + (i % 3) * 1000 - i * 7;
      const type = i % 2 ? 'incremental' : 'full';
      return {
        ...base,
        status,
        type,
        startMs,
        endMs: status === 'in progress' ? null : startMs + 5000 * i,
        label: i === 3 ? 'full-a' : labelOf(type, startMs),
      };
    });
    const wire = encodeSessions(sessions);
    expect(wire.labels).toEqual({ 3: 'full-a' });
    expect(plain(decodeSessions(wire))).toEqual(sessions.map(rowOf));
    // Through JSON, as the web host and IPC carry it.
    expect(plain(decodeSessions(JSON.parse(JSON.stringify(wire))))).toEqual(sessions.map(rowOf));
  });

  it('decodes nothing to nothing', () => {
    expect(decodeSessions(encodeSessions([]))).toEqual([]);
  });
});
