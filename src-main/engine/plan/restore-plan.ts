import type { Catalog } from '../catalog/catalog';
import type { AccountRef } from './account-ref';
import { fullsOf, latestFullAtOrBefore, modelAtFull } from './base-full';
import { committedOps } from './committed-ops';
import { redoChain } from './redo-chain';

/**
 * `mailvault plan`: what restoring one account to an instant would take and give, from the target
 * alone (no server): the full backup it starts from, the redo logs it replays (and, when one is
 * missing, the latest instant it can reach instead), the bytes it reads, the committed ops it
 * replays by kind, and the account's folders with their message counts at the full and after the
 * replay.
 */
export interface PlannedLog {
  name: string;
  seq: number;
  bytes: number;
  session: string;
  firstOpMs: number | null;
  lastOpMs: number | null;
}

export interface PlannedFolder {
  path: string;
  atFull: number | null;
  atTarget: number | null;
}

export interface RestorePlan {
  account: { email: string; zimbraId: string; mailboxId: number };
  toMs: number;
  full: { label: string; startMs: number; endMs: number; snapshotMs: number; bytes: number; status: string };
  redoLogs: PlannedLog[];
  /** True when the target holds what it takes to reach toMs. */
  reachable: boolean;
  /** The instant the plan actually restores to: toMs, or the latest one the target reaches. */
  restoresToMs: number;
  /** Why toMs cannot be reached. */
  missing: string | null;
  bytesToRead: number;
  replay: { total: number; byKind: Record<string, number> };
  /** Null when the full's mailbox.sql is not in the target (nothing to predict from). */
  folders: PlannedFolder[] | null;
  messages: { atFull: number; atTarget: number } | null;
  problems: string[];
}

export class NoFullBackupError extends Error {}

export async function planRestore(
  target: string,
  catalog: Catalog,
  account: AccountRef,
  toMs: number,
): Promise<RestorePlan> {
  const fulls = fullsOf(catalog, account.indexes);
  const full = latestFullAtOrBefore(fulls, toMs);
  if (!full) {
    const first = fulls[0];
    throw new NoFullBackupError(
      first
        ? `no full backup of ${account.email} at or before that time; the earliest is ${first.session.label}`
        : `no completed full backup of ${account.email} in this target`,
    );
  }
  const mailboxId = full.entry.account.mailboxId!;
  const chain = full.session.redoSeq
    ? redoChain(target, catalog, full.session.serverId, full.session.redoSeq[0], toMs)
    : { logs: [], missing: null, reachesUntil: false, lastOpMs: null };
  // Without a log past toMs the target cannot say what happened up to it: the plan stops at the
  // last op it holds (never before the snapshot itself).
  const reachable = toMs <= full.snapshotMs || chain.reachesUntil;
  const restoresToMs = reachable ? toMs : Math.max(full.snapshotMs, chain.lastOpMs ?? 0);
  let missing: string | null = null;
  if (!reachable)
    missing = chain.missing
      ? chain.missing.why
      : full.session.redoSeq === null
        ? `${full.session.label} records no redo log sequence: nothing can be replayed after it`
        : 'the redo logs in the target end before that time (the next incremental brings the rest)';

  const problems: string[] = [];
  const model = await modelAtFull(target, full);
  if (!model) problems.push(`${full.session.label}: the account's mailbox.sql is not in the target`);
  const atFull = model?.messageCounts() ?? null;
  const byKind: Record<string, number> = {};
  let total = 0;
  for await (const c of committedOps(chain.logs, mailboxId, {
    afterChangeId: model?.lastChangeId ?? undefined,
    untilMs: restoresToMs,
    onProblem: (p) => problems.push(p),
  })) {
    total++;
    byKind[c.op.op] = (byKind[c.op.op] ?? 0) + 1;
    model?.apply(c.op);
  }
  let folders: PlannedFolder[] | null = null;
  const after = model?.messageCounts() ?? [];
  if (model && atFull) {
    const paths = new Map<string, PlannedFolder>();
    for (const f of atFull) paths.set(f.path, { path: f.path, atFull: f.messages, atTarget: null });
    for (const f of after)
      paths.set(f.path, { ...(paths.get(f.path) ?? { path: f.path, atFull: null }), atTarget: f.messages });
    folders = [...paths.values()].sort((a, b) => a.path.localeCompare(b.path));
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    account: { email: full.entry.account.email, zimbraId: full.entry.account.zimbraId, mailboxId },
    toMs,
    full: {
      label: full.session.label,
      startMs: full.session.startMs,
      endMs: full.session.endMs,
      snapshotMs: full.snapshotMs,
      bytes: full.entry.bytes,
      status: full.session.status,
    },
    redoLogs: chain.logs.map(({ name, seq, bytes, session, firstOpMs, lastOpMs }) => ({
      name,
      seq,
      bytes,
      session,
      firstOpMs,
      lastOpMs,
    })),
    reachable,
    restoresToMs,
    missing,
    bytesToRead: full.entry.bytes + sum(chain.logs.map((l) => l.bytes)),
    replay: { total, byKind },
    folders,
    messages:
      model && atFull
        ? { atFull: sum(atFull.map((f) => f.messages)), atTarget: sum(after.map((f) => f.messages)) }
        : null,
    problems,
  };
}
