import type { Catalog } from '../catalog/catalog';
import type { CatalogSession } from '../catalog/catalog-format';
import { compareLabels, parseLabel, type SessionType } from '../target/labels';
import type { AccountStatus, SessionStatus } from '../target/manifest';
import type { TmpSession } from './live-sessions';

/**
 * `zmbackupquery` without -a: the sessions of a target, filtered as Zimbra's QueryUtil does
 * (one label; a type; a start time at or after --from and at or before --to), committed ones from
 * the catalog and live or abandoned ones from tmp/.
 */
export interface SessionFilter {
  label?: string;
  type?: SessionType;
  fromMs?: number;
  toMs?: number;
  /** -v: list every account with its status. */
  verbose?: boolean;
}

export interface QueriedAccount {
  email: string;
  zimbraId: string;
  status: AccountStatus;
  bytes: number;
  error?: string;
}

export interface QueriedSession {
  label: string;
  type: SessionType;
  /** Zimbra's wording: in progress, completed, completed (with errors), … */
  status: string;
  live: boolean;
  startMs: number;
  /** Null while live, or when the session has no valid manifest. */
  endMs: number | null;
  redoSeq: [number, number] | null;
  accounts: { total: number | null; completed: number; errors: number };
  /** Live sessions: the account being backed up now. */
  currentAccount: string | null;
  errors: Array<{ email?: string; message: string }>;
  warnings: string[];
  /** Why a session is missing, incomplete or invalid. */
  reason?: string;
  accountList?: QueriedAccount[];
}

/** QueryUtil's status strings for a committed session. */
export function zimbraStatus(status: SessionStatus): string {
  switch (status) {
    case 'completed with errors':
      return 'completed (with errors)';
    case 'aborted':
      return 'completed (aborted by command)';
    case 'failed':
      return 'failed';
    default:
      return status;
  }
}

export const INVALID_STATUS = 'missing, incomplete, or invalid';

function matches(label: string, filter: SessionFilter): boolean {
  if (filter.label !== undefined && label !== filter.label) return false;
  const { type, startMs } = parseLabel(label);
  if (filter.type !== undefined && type !== filter.type) return false;
  if (filter.fromMs !== undefined && startMs < filter.fromMs) return false;
  if (filter.toMs !== undefined && startMs > filter.toMs) return false;
  return true;
}

export function describeSession(catalog: Catalog, s: CatalogSession, verbose: boolean): QueriedSession {
  return {
    label: s.label,
    type: s.type,
    status: zimbraStatus(s.status),
    live: false,
    startMs: s.startMs,
    endMs: s.endMs,
    redoSeq: s.redoSeq,
    accounts: { total: s.accountCount, completed: s.completed, errors: s.errorCount },
    currentAccount: null,
    errors: s.errors,
    warnings: s.warnings,
    ...(verbose
      ? {
          accountList: catalog.accountsOf(s).map((a) => ({
            email: a.account.email,
            zimbraId: a.account.zimbraId,
            status: a.status,
            bytes: a.bytes,
            ...(a.error ? { error: a.error } : {}),
          })),
        }
      : {}),
  };
}

export function querySessions(catalog: Catalog, tmp: TmpSession[], filter: SessionFilter): QueriedSession[] {
  const out: QueriedSession[] = [];
  for (const s of catalog.sessions)
    if (matches(s.label, filter)) out.push(describeSession(catalog, s, !!filter.verbose));
  for (const s of catalog.invalid)
    if (matches(s.label, filter)) {
      const { type, startMs } = parseLabel(s.label);
      out.push({
        label: s.label,
        type,
        status: INVALID_STATUS,
        live: false,
        startMs,
        endMs: null,
        redoSeq: null,
        accounts: { total: null, completed: 0, errors: 0 },
        currentAccount: null,
        errors: [],
        warnings: [],
        reason: s.reason,
      });
    }
  for (const s of tmp)
    if (matches(s.label, filter)) {
      const live = s.state === 'in progress';
      out.push({
        label: s.label,
        type: s.type,
        status: live ? 'in progress' : INVALID_STATUS,
        live,
        startMs: s.startMs,
        endMs: null,
        redoSeq: null,
        accounts: {
          total: s.live?.accounts.total ?? null,
          completed: s.live?.accounts.done ?? 0,
          errors: s.live?.accounts.errors ?? 0,
        },
        currentAccount: live ? (s.live?.currentAccount ?? null) : null,
        errors: [],
        warnings: [],
        ...(live ? {} : { reason: 'abandoned in tmp/: no live backup is writing it' }),
      });
    }
  return out.sort((a, b) => compareLabels(a.label, b.label));
}
