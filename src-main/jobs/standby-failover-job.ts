import type { JobProgress, StandbyFailoverReport } from '../api/contract';
import type { ServerAccess } from '../engine/server/server-access';
import { failover, type FailoverProgress, type FailoverReport } from '../engine/standby/failover';
import { StandbyDir } from '../engine/standby/standby-dir';
import type { StandbyFailoverOrder, WorkerMessage } from './worker-protocol';

/**
 * The console's failover, in the job worker (backup-worker.ts hands it the standby server,
 * opened): the engine's failover (load the newest complete set, replay from its time), its
 * progress turned into job progress (mailboxes done of those to replay, ops replayed), and its
 * report into the job's result.
 */
export function progressOf(p: FailoverProgress): JobProgress {
  return {
    accountsDone: p.mailboxesDone,
    accountsTotal: p.mailboxesTotal,
    accountErrors: 0,
    bytes: 0,
    bytesPerSec: null,
    etaMs: null,
    currentAccount: null,
    message: p.message,
    ...(p.step === 'replay' || p.step === 'reindex' || p.step === 'done'
      ? { ops: { done: p.opsReplayed, total: p.opsTotal } }
      : {}),
  };
}

export function reportOf(r: FailoverReport): StandbyFailoverReport {
  return {
    set: r.set,
    replayFrom: r.replayFrom,
    openAtSnapshot: r.openAtSnapshot,
    redoLogs: r.loaded.redoLogs,
    committed: r.replay?.committed ?? 0,
    applied: r.replay?.applied ?? 0,
    alreadyPresent: r.replay?.alreadyPresent ?? 0,
    errors: (r.replay?.errors ?? []).map((e) => ({ mailboxId: e.mailboxId, op: e.op, message: e.message })),
    durationMs: r.replay?.durationMs ?? 0,
    mailboxes: r.mailboxes.map((m) => ({
      mailboxId: m.mailboxId,
      email: m.email,
      replayed: m.replayed,
      alreadyPresent: m.alreadyPresent,
      errors: m.errors,
      ...(m.reindex ? { reindex: m.reindex } : {}),
    })),
    dataLoss: r.dataLoss,
  };
}

export async function runStandbyFailover(
  server: ServerAccess,
  order: StandbyFailoverOrder,
  send: (message: WorkerMessage) => Promise<void>,
): Promise<void> {
  try {
    const report = await failover(server, new StandbyDir(server.transport, order.dir), {
      ...(order.failedAt !== undefined ? { failedAt: order.failedAt } : {}),
      onProgress: (p) => void send({ type: 'progress', progress: progressOf(p) }),
    });
    await send({ type: 'failover', report: reportOf(report) });
  } finally {
    await server.close();
  }
}
