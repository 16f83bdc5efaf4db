import type { Manifest, ManifestAccount } from '../target/manifest';
import { completeSessions } from '../target/session-list';

/**
 * Which full each account is restored from and how far its redo goes (zimbra-facts §1.4): the
 * session given with -lb, else the account's latest full whose snapshot of it is not after the
 * point in time; replay from the earliest of those fulls' redo position up to -restoreToTime,
 * -restoreToIncrLabel or -restoreToRedoSeq, whichever comes first.
 */
export class RestorePlanError extends Error {}

export interface PlannedAccount {
  email: string;
  zimbraId: string;
  manifest: Manifest;
  account: ManifestAccount;
}

export interface RedoBounds {
  fromSeq: number;
  toSeq?: number;
  toTime?: number;
}

export interface RestorePlan {
  accounts: PlannedAccount[];
  /** Named accounts no full holds (skipped with --skipDeletedAccounts, else errors). */
  missing: string[];
  redo: RedoBounds | null;
  /** The session system data (-sys) comes from. */
  systemSession: Manifest | null;
}

export interface PlanOptions {
  accounts: 'all' | string[];
  label?: string;
  hostname: string;
  restoreToTime?: number;
  restoreToIncrLabel?: string;
  restoreToRedoSeq?: number;
  fullOnly?: boolean;
}

const usable = (m: Manifest) => m.status === 'completed' || m.status === 'completed with errors';

export async function planRestore(target: string, options: PlanOptions): Promise<RestorePlan> {
  const sessions = (await completeSessions(target)).map((s) => s.manifest);
  const ours = sessions.filter((m) => m.server.hostname === options.hostname);
  // A target written by another server (disaster recovery onto a new host) is read as it is.
  const candidates = ours.length > 0 ? ours : sessions;
  let toSeq = options.restoreToRedoSeq;
  if (options.restoreToIncrLabel !== undefined) {
    const incr = candidates.find((m) => m.label === options.restoreToIncrLabel);
    if (!incr || incr.type !== 'incremental')
      throw new RestorePlanError(
        `-restoreToIncrLabel ${options.restoreToIncrLabel}: no such incremental session`,
      );
    const last = incr.redoLogs?.at(-1)?.seq ?? incr.redo.seq?.max;
    if (last === undefined) throw new RestorePlanError(`${incr.label} holds no redo logs`);
    toSeq = toSeq === undefined ? last : Math.min(toSeq, last);
  }
  const toTime = options.restoreToTime;
  let fulls = candidates.filter((m) => m.type === 'full' && usable(m));
  if (options.label !== undefined) {
    const chosen = candidates.find((m) => m.label === options.label);
    if (!chosen) throw new RestorePlanError(`-lb ${options.label}: no such complete session in the target`);
    if (chosen.type !== 'full') throw new RestorePlanError(`-lb ${options.label}: not a full backup`);
    fulls = [chosen];
  }
  fulls.sort((a, b) => b.startMs - a.startMs); // latest first
  const accountOf = (m: Manifest, email: string) =>
    m.accounts.find((a) => a.email.toLowerCase() === email.toLowerCase() && a.status === 'COMPLETED');
  const fits = (m: Manifest, a: ManifestAccount) =>
    (toTime === undefined || (a.maintenance?.startMs ?? m.startMs) <= toTime) &&
    (toSeq === undefined || (m.redo.seq?.min ?? 0) <= toSeq);
  const emails =
    options.accounts === 'all'
      ? [
          ...new Set(
            (fulls.find((m) => m.accounts.some((a) => fits(m, a))) ?? fulls[0])?.accounts.map(
              (a) => a.email,
            ) ?? [],
          ),
        ]
      : options.accounts;
  const accounts: PlannedAccount[] = [];
  const missing: string[] = [];
  for (const email of emails) {
    let found: PlannedAccount | undefined;
    for (const m of fulls) {
      const a = accountOf(m, email);
      if (a && fits(m, a)) {
        found = { email: a.email, zimbraId: a.zimbraId, manifest: m, account: a };
        break;
      }
    }
    if (found) accounts.push(found);
    else missing.push(email);
  }
  const fromSeq = Math.min(...accounts.map((a) => a.manifest.redo.seq?.min ?? 0));
  return {
    accounts,
    missing,
    redo: options.fullOnly || accounts.length === 0 ? null : { fromSeq, toSeq, toTime },
    systemSession: fulls[0] ?? null,
  };
}
