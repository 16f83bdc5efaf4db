import type { Catalog } from '../catalog/catalog';
import type { AccountRef } from '../plan/account-ref';
import { fullsOf, latestFullAtOrBefore, modelAtFull, type FullOfAccount } from '../plan/base-full';
import { committedOps } from '../plan/committed-ops';
import type { MailboxModel } from '../plan/mailbox-model';
import { redoChain } from '../plan/redo-chain';
import type { AccountStatus } from '../target/manifest';
import { BurstDetector, type Burst, type BurstOptions } from './bursts';
import { zimbraStatus } from './session-query';

/**
 * `zmbackupquery -a <account>` with a window: every session holding the account (whose start is in
 * the window), and the best point in time to restore it. That is the latest full at or before the
 * window's end plus the redo coverage after it (Zimbra's advice, zimbra-facts §1.3) and, beyond
 * Zimbra, the instant just before each destructive burst in the mailbox's committed ops inside the
 * window (see bursts.ts for what counts as one).
 */
export interface AccountWindow {
  fromMs?: number;
  /** Only sessions of this type, or this one label, in the list (Zimbra: -a … --type full --to T). */
  type?: 'full' | 'incremental';
  label?: string;
  /** The window's end; now when not given. */
  toMs: number;
  bursts?: BurstOptions;
}

export interface SessionWithAccount {
  label: string;
  type: 'full' | 'incremental';
  status: string;
  startMs: number;
  endMs: number;
  accountStatus: AccountStatus;
  mailboxId: number | null;
  bytes: number;
  error?: string;
}

export interface RestorePoint {
  /** The instant to restore to. */
  atMs: number;
  /** The full to start from, and the redo logs (by sequence) to replay after it. */
  full: string;
  redoSeq: [number, number] | null;
  redoLogs: number;
  /** False when the target lacks a redo log on the way (then atMs is the latest reachable). */
  complete: boolean;
  missing: string | null;
}

export interface BurstAdvice extends Burst {
  /** How to restore to just before it; null when the target cannot (no full before it, redo missing). */
  restore: RestorePoint | null;
}

export interface AccountQueryResult {
  account: { email: string; zimbraId: string };
  window: { fromMs: number | null; toMs: number };
  sessions: SessionWithAccount[];
  /** Null when no completed full at or before the window's end holds the account. */
  bestPointInTime: RestorePoint | null;
  bursts: BurstAdvice[];
  /** Why bursts could not be looked for, or what got in the way while reading redo logs. */
  notes: string[];
}

/** Restoring to atMs from the latest full before it: how far the target's redo logs go. */
function restorePoint(target: string, catalog: Catalog, full: FullOfAccount, atMs: number): RestorePoint {
  const seq = full.session.redoSeq;
  const chain = seq
    ? redoChain(target, catalog, full.session.serverId, seq[0], atMs)
    : { logs: [], missing: null, reachesUntil: false, lastOpMs: null };
  const complete = atMs <= full.snapshotMs || chain.reachesUntil;
  const first = chain.logs[0];
  const last = chain.logs.at(-1);
  return {
    atMs: complete ? atMs : Math.max(full.snapshotMs, chain.lastOpMs ?? 0),
    full: full.session.label,
    redoSeq: first && last ? [first.seq, last.seq] : null,
    redoLogs: chain.logs.length,
    complete,
    missing: complete
      ? null
      : (chain.missing?.why ??
        'the redo logs in the target end before that instant (the next incremental brings the rest)'),
  };
}

export async function queryAccount(
  target: string,
  catalog: Catalog,
  account: AccountRef,
  window: AccountWindow,
): Promise<AccountQueryResult> {
  const sessions: SessionWithAccount[] = [];
  for (const { session: s, entry } of catalog.holdings(account.indexes)) {
    if (window.fromMs !== undefined && s.startMs < window.fromMs) continue;
    if (s.startMs > window.toMs) continue;
    if (window.type !== undefined && s.type !== window.type) continue;
    if (window.label !== undefined && s.label !== window.label) continue;
    sessions.push({
      label: s.label,
      type: s.type,
      status: zimbraStatus(s.status),
      startMs: s.startMs,
      endMs: s.endMs,
      accountStatus: entry.status,
      mailboxId: entry.account.mailboxId,
      bytes: entry.bytes,
      ...(entry.error ? { error: entry.error } : {}),
    });
  }

  const fulls = fullsOf(catalog, account.indexes);
  const best = latestFullAtOrBefore(fulls, window.toMs);
  const bestPointInTime = best ? restorePoint(target, catalog, best, window.toMs) : null;
  const notes: string[] = [];

  // Bursts: replay from the latest full at or before the window's start (or the first full in
  // it), so that every op is seen against the mailbox as it then was.
  const windowStart = window.fromMs ?? best?.snapshotMs ?? -Infinity;
  if (window.fromMs === undefined && best)
    notes.push(`without --from, destructive ops are looked for after ${best.session.label} only`);
  const base = latestFullAtOrBefore(fulls, windowStart) ?? fulls.find((f) => f.snapshotMs > windowStart);
  const bursts: BurstAdvice[] = [];
  if (!base)
    notes.push(
      'no completed full backup holds the account: its mailbox id, and so its redo ops, are unknown',
    );
  else if (!base.session.redoSeq)
    notes.push(`${base.session.label} records no redo log sequence: no redo to look at`);
  else {
    if (base.snapshotMs > windowStart)
      notes.push(
        `ops before ${base.session.label} are not looked at: no full backup before them to start from`,
      );
    const model: MailboxModel | null = await modelAtFull(target, base);
    if (!model)
      notes.push(
        `${base.session.label}: the account's mailbox.sql is missing; item counts come from the ops`,
      );
    const chain = redoChain(target, catalog, base.session.serverId, base.session.redoSeq[0], window.toMs);
    if (chain.missing)
      notes.push(`redo ops after sequence ${chain.missing.seq - 1} not looked at: ${chain.missing.why}`);
    const detector = new BurstDetector(window.bursts);
    for await (const c of committedOps(chain.logs, base.entry.account.mailboxId!, {
      afterChangeId: model?.lastChangeId,
      untilMs: window.toMs,
      onProblem: (p) => notes.push(p),
    })) {
      const effect = model ? model.apply(c.op) : null;
      detector.see(c, effect, model, c.commitMs >= windowStart);
    }
    for (const burst of detector.finish()) {
      const from = latestFullAtOrBefore(fulls, burst.restoreToMs);
      bursts.push({
        ...burst,
        restore: from ? restorePoint(target, catalog, from, burst.restoreToMs) : null,
      });
    }
  }
  return {
    account: { email: account.email, zimbraId: account.zimbraId },
    window: { fromMs: window.fromMs ?? null, toMs: window.toMs },
    sessions,
    bestPointInTime,
    bursts,
    notes,
  };
}
