import { runFullBackup } from '../engine/backup/full-backup';
import { runIncrementalBackup } from '../engine/backup/incremental-backup';
import { openServerAccess, type ServerAccess } from '../engine/server/server-access';
import { openTransport } from '../engine/transport';
import type { Manifest } from '../engine/target/manifest';
import { ENGINE_VERSION } from '../cli/version';
import type { JobSession } from '../api/contract';
import { transportProfileOf } from '../api/server-connect';
import { runRestore } from '../engine/restore/run-restore';
import { runStandbyFailover } from './standby-failover-job';
import type { BackupOrder, RestoreOrder, WorkerMessage, WorkerOrder } from './worker-protocol';

/**
 * A backup run in its own process for the console (src-main/jobs/job-runner.ts forks it): a heavy
 * backup never blocks the window, and a crash here never takes the app down. It gets its order
 * over IPC, reports labels, warnings and sessions back, and progress is read by the console from
 * the session's live status file. SIGTERM aborts: a full stops cleanly between accounts and is
 * kept as aborted; an incremental is stopped where it is (its steps are crash-safe: the next
 * incremental starts again from the last committed redo log).
 */
const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

const abort = new AbortController();
let phase: 'connecting' | 'full' | 'incremental' | 'restore' = 'connecting';
process.on('SIGTERM', () => {
  if (phase === 'full') abort.abort();
  else process.exit(143);
});

function sessionOf(manifest: Manifest): JobSession {
  return {
    label: manifest.label,
    status: manifest.status,
    accounts: manifest.accounts.length,
    accountErrors: manifest.accounts.filter((a) => a.status === 'ERROR').length,
    bytes: manifest.accounts.reduce((sum, a) => sum + a.bytes, 0),
    errors: manifest.errors.map((e) => (e.email ? `${e.email}: ${e.message}` : e.message)),
  };
}

async function connect(order: WorkerOrder): Promise<ServerAccess> {
  // No trust on first use here: the console pins the key when the administrator confirms it.
  const transport = await openTransport(transportProfileOf(order.connect));
  try {
    return await openServerAccess(transport, {
      zimbraHome: order.connect.zimbraHome,
      local: order.connect.access === 'local',
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
}

async function run(order: BackupOrder): Promise<void> {
  const server = await connect(order);
  const full = (accounts: 'all' | string[]) => {
    phase = 'full';
    return runFullBackup(server, {
      target: order.target,
      accounts,
      zip: 'store',
      blobs: true,
      index: true,
      engineVersion: ENGINE_VERSION,
      onLabel: (label) => void send({ type: 'label', label }),
      onWarning: (message) => void send({ type: 'warning', message }),
      signal: abort.signal,
      reconnect: () => connect(order),
    });
  };
  try {
    if (order.kind === 'full') {
      await send({ type: 'session', session: sessionOf(await full(order.accounts)) });
      return;
    }
    phase = 'incremental';
    const result = await runIncrementalBackup(server, {
      target: order.target,
      accounts: order.accounts,
      engineVersion: ENGINE_VERSION,
      onLabel: (label) => void send({ type: 'label', label }),
      onWarning: (message) => void send({ type: 'warning', message }),
    });
    await send({ type: 'session', session: sessionOf(result.manifest) });
    for (const problem of result.pruned.problems) await send({ type: 'warning', message: problem });
    if (result.needFull.length > 0) {
      await send({
        type: 'warning',
        message: `${result.needFull.length} account(s) had no full backup in this target: taking one now.`,
      });
      await send({ type: 'session', session: sessionOf(await full(result.needFull.map((a) => a.email))) });
    }
  } finally {
    await server.close();
  }
}

/** zmrestore -ca: the account as it was at toMs, into a new account; the original is untouched. */
async function restore(order: RestoreOrder): Promise<void> {
  const server = await connect(order);
  phase = 'restore';
  try {
    const result = await runRestore(server, {
      target: order.target,
      accounts: [order.account],
      restoreToTime: order.toMs,
      createAccount: { prefix: order.prefix },
      // What the planner showed is what the target holds: replay only the target's redo logs (-br).
      backedUpRedoOnly: true,
      onProgress: (line) => void send({ type: 'progress-line', line }),
    });
    await send({
      type: 'restored',
      accounts: result.accounts.map((a) => ({
        email: a.email,
        ...(a.restoredAs ? { restoredAs: a.restoredAs.email } : {}),
        status: a.status,
        ...(a.error ? { error: a.error } : {}),
      })),
    });
  } finally {
    await server.close();
  }
}

process.once('message', (order: WorkerOrder) => {
  (order.type === 'restore'
    ? restore(order)
    : order.type === 'standby-failover'
      ? connect(order).then((server) => runStandbyFailover(server, order, send))
      : run(order)
  )
    .then(
      () => send({ type: 'done', ok: true }),
      (error: unknown) =>
        send({ type: 'done', ok: false, message: error instanceof Error ? error.message : String(error) }),
    )
    .finally(() => {
      process.disconnect?.();
      process.exitCode = 0;
    });
});
