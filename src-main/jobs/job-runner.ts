import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { tmpSessionDir } from '../engine/target/layout';
import { readLiveStatus } from '../engine/target/session-status';
import type { ApiError, BackupKind, JobEvent, JobSnapshot } from '../api/contract';
import type { EventHub } from '../api/events';
import type { ConnectSpec } from '../api/server-connect';
import { ProgressMeter } from './progress';
import { isWorkerMessage, type WorkerMessage, type WorkerOrder } from './worker-protocol';

/**
 * The console's jobs: each backup in a child process of its own (see backup-worker.ts), watched
 * from here. Every change is an event numbered per job (seq), and the snapshot of every job is
 * kept, so a window that reloads or missed an event asks `jobs.get`/`jobs.list` and is current.
 */
export type LaunchWorker = () => ChildProcess;

export interface JobRunnerOptions {
  launch: LaunchWorker;
  events: EventHub;
  /** How often progress is read from the session's status file. */
  pollMs?: number;
  /** After an abort, how long a worker may take to stop before it is killed. */
  abortGraceMs?: number;
  log?: (line: string) => void;
  /** A job ended: the server's sessions changed. */
  onFinished?: (job: JobSnapshot) => void;
}

export interface BackupRequest {
  serverId: string;
  serverName: string;
  kind: BackupKind;
  connect: ConnectSpec;
  target: string;
  accounts: 'all' | string[];
}

export interface RestoreRequest {
  serverId: string;
  serverName: string;
  connect: ConnectSpec;
  target: string;
  account: string;
  toMs: number;
  prefix: string;
}

/** Fail over to a server's standby, as a job (worker: standby-failover-job.ts). */
export interface StandbyFailoverRequest {
  serverId: string;
  serverName: string;
  connect: ConnectSpec;
  dir: string;
  failedAt?: number;
}

const EMPTY_PROGRESS = {
  accountsDone: 0,
  accountsTotal: null,
  accountErrors: 0,
  bytes: 0,
  bytesPerSec: null,
  etaMs: null,
  currentAccount: null,
  message: null,
};

interface Running {
  snapshot: JobSnapshot;
  target: string;
  child: ChildProcess;
  timer?: NodeJS.Timeout;
  meter: ProgressMeter;
  stderr: string[];
}

export class JobRunner {
  private readonly jobs = new Map<string, JobSnapshot>();
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: JobRunnerOptions) {}

  list(): JobSnapshot[] {
    return [...this.jobs.values()].sort((a, b) => b.startedAt - a.startedAt).map((j) => structuredClone(j));
  }

  get(id: string): JobSnapshot | undefined {
    const job = this.jobs.get(id);
    return job && structuredClone(job);
  }

  /** A job running on this server, or writing into this target. */
  busy(where: { serverId?: string; target?: string }): JobSnapshot | undefined {
    for (const r of this.running.values())
      if (r.snapshot.serverId === where.serverId || r.target === where.target)
        return structuredClone(r.snapshot);
    return undefined;
  }

  startBackup(request: BackupRequest): JobSnapshot {
    return this.start(
      { serverId: request.serverId, serverName: request.serverName, operation: `backup.${request.kind}` },
      {
        type: 'run',
        kind: request.kind,
        connect: request.connect,
        target: request.target,
        accounts: request.accounts,
      },
    );
  }

  /** zmrestore -ca of one account to an instant, into a new account, as a job. */
  startRestore(request: RestoreRequest): JobSnapshot {
    const { serverId, serverName, ...order } = request;
    return this.start({ serverId, serverName, operation: 'restore.account' }, { type: 'restore', ...order });
  }

  startStandbyFailover(request: StandbyFailoverRequest): JobSnapshot {
    const { serverId, serverName, ...order } = request;
    return this.start(
      { serverId, serverName, operation: 'standby.failover' },
      { type: 'standby-failover', target: `standby:${order.dir}`, ...order },
    );
  }

  private start(
    meta: Pick<JobSnapshot, 'serverId' | 'serverName' | 'operation'>,
    order: WorkerOrder,
  ): JobSnapshot {
    const request = { ...meta, target: order.target };
    const id = `job-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
    const snapshot: JobSnapshot = {
      id,
      seq: 0,
      operation: meta.operation,
      serverId: request.serverId,
      serverName: request.serverName,
      state: 'running',
      startedAt: Date.now(),
      progress: null,
      sessions: [],
      warnings: [],
    };
    this.jobs.set(id, snapshot);
    const child = this.options.launch();
    const run: Running = {
      snapshot,
      target: request.target,
      child,
      meter: new ProgressMeter(snapshot.startedAt),
      stderr: [],
    };
    this.running.set(id, run);
    this.emit(snapshot, { kind: 'started', job: structuredClone(snapshot) });

    child.stderr?.on('data', (chunk: Buffer) => {
      run.stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      run.stderr.splice(0, Math.max(0, run.stderr.length - 20));
    });
    child.stdout?.resume();
    let outcome: { ok: true } | { ok: false; message: string } | undefined;
    child.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'done')
        outcome = message.ok ? { ok: true } : { ok: false, message: message.message };
      else this.onWorkerMessage(run, message);
    });
    child.once('error', (error) => {
      outcome ??= { ok: false, message: `The backup worker could not start: ${error.message}` };
    });
    child.once('exit', (code, signal) => void this.finish(run, outcome, code, signal));
    child.send(order);
    run.timer = setInterval(() => void this.poll(run), this.options.pollMs ?? 500);
    return structuredClone(snapshot);
  }

  abort(id: string): JobSnapshot | undefined {
    const run = this.running.get(id);
    if (!run) return this.get(id);
    if (!run.snapshot.aborting) {
      run.snapshot.aborting = true;
      this.emit(run.snapshot, { kind: 'aborting' });
      run.child.kill('SIGTERM');
      const grace = setTimeout(() => run.child.kill('SIGKILL'), this.options.abortGraceMs ?? 60_000);
      grace.unref();
      run.child.once('exit', () => clearTimeout(grace));
    }
    return structuredClone(run.snapshot);
  }

  /** Stops every running job (the app quits): aborted, as the administrator would. */
  async stopAll(): Promise<void> {
    const exits = [...this.running.values()].map(
      (run) => new Promise<void>((resolve) => run.child.once('exit', () => resolve())),
    );
    for (const id of this.running.keys()) this.abort(id);
    await Promise.all(exits);
  }

  private onWorkerMessage(run: Running, message: Exclude<WorkerMessage, { type: 'done' }>): void {
    const job = run.snapshot;
    if (message.type === 'label') {
      job.label = message.label;
      this.emit(job, { kind: 'label', label: message.label });
    } else if (message.type === 'warning') job.warnings.push(message.message);
    else if (message.type === 'session') job.sessions.push(message.session);
    else if (message.type === 'restored') job.restored = message.accounts;
    else if (message.type === 'failover') job.failover = message.report;
    else if (message.type === 'progress') {
      job.progress = message.progress;
      this.emit(job, { kind: 'progress', progress: job.progress });
    } else if (message.type === 'progress-line') {
      job.progress = { ...(job.progress ?? EMPTY_PROGRESS), message: message.line };
      this.emit(job, { kind: 'progress', progress: job.progress });
    }
  }

  private async poll(run: Running): Promise<void> {
    const label = run.snapshot.label;
    if (!label || !this.running.has(run.snapshot.id)) return;
    const status = await readLiveStatus(tmpSessionDir(run.target, label));
    if (!status || !this.running.has(run.snapshot.id) || run.snapshot.label !== label) return;
    const progress = run.meter.read(status, Date.now());
    if (JSON.stringify(progress) === JSON.stringify(run.snapshot.progress)) return;
    run.snapshot.progress = progress;
    this.emit(run.snapshot, { kind: 'progress', progress });
  }

  private finish(
    run: Running,
    outcome: { ok: true } | { ok: false; message: string } | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    clearInterval(run.timer);
    this.running.delete(run.snapshot.id);
    const job = run.snapshot;
    job.endedAt = Date.now();
    const sessionsOk =
      job.sessions.every((s) => s.status === 'completed') &&
      (job.restored ?? []).every((a) => a.status === 'restored') &&
      (job.operation !== 'restore.account' || (job.restored ?? []).length > 0) &&
      (job.operation !== 'standby.failover' || (!!job.failover && job.failover.errors.length === 0));
    const anyAborted = job.sessions.some((s) => s.status === 'aborted');
    if (job.aborting && (anyAborted || !outcome || !outcome.ok)) {
      job.state = 'aborted';
      job.error = {
        code: 'conflict',
        message:
          job.operation === 'backup.full'
            ? 'Stopped on request; the session is kept, marked aborted.'
            : job.operation === 'standby.failover'
              ? 'Stopped on request; the standby holds a partly loaded set: run the failover again.'
              : job.operation === 'restore.account'
                ? 'Stopped on request; the next engine command puts back what the restore left in maintenance.'
                : 'Stopped on request; the next incremental starts again from the last committed redo log.',
      };
    } else if (outcome?.ok) {
      job.state = sessionsOk ? 'succeeded' : 'failed';
      if (!sessionsOk)
        job.error =
          job.operation === 'standby.failover'
            ? failoverError(job)
            : job.operation === 'restore.account'
              ? restoreError(job)
              : sessionsError(job);
    } else {
      job.state = 'failed';
      job.error = {
        code: 'internal',
        message: outcome
          ? outcome.message
          : `The backup worker stopped unexpectedly (${signal ? `signal ${signal}` : `exit status ${code}`})${
              run.stderr.length ? `: ${run.stderr.at(-1)}` : ''
            }. What was committed stays in the target; an unfinished session is cleaned up by the next backup.`,
      };
    }
    if (job.state !== 'succeeded') this.options.log?.(`job ${job.id} ${job.state}: ${job.error?.message}`);
    this.emit(job, { kind: 'finished', job: structuredClone(job) });
    this.options.onFinished?.(structuredClone(job));
  }

  private emit(job: JobSnapshot, event: DistributiveOmit<JobEvent, 'jobId' | 'seq' | 'at'>): void {
    job.seq += 1;
    if (event.kind === 'started') event.job.seq = job.seq;
    if (event.kind === 'finished') event.job.seq = job.seq;
    this.options.events.emit('job.event', {
      ...event,
      jobId: job.id,
      seq: job.seq,
      at: Date.now(),
    } as JobEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sessionsError(job: JobSnapshot): ApiError {
  const bad = job.sessions.filter((s) => s.status !== 'completed');
  const detail = bad.map((s) => `${s.label} ${s.status}${s.errors[0] ? ` (${s.errors[0]})` : ''}`).join('; ');
  return { code: 'internal', message: `The backup did not complete cleanly: ${detail}.` };
}

function failoverError(job: JobSnapshot): ApiError {
  const errors = job.failover?.errors ?? [];
  if (!job.failover) return { code: 'internal', message: 'The failover reported nothing.' };
  return {
    code: 'internal',
    message: `Replay failed for ${errors.length} op(s): ${errors
      .slice(0, 3)
      .map((e) => `mailbox ${e.mailboxId} ${e.op}: ${e.message}`)
      .join('; ')}.`,
  };
}

function restoreError(job: JobSnapshot): ApiError {
  const bad = (job.restored ?? []).filter((a) => a.status !== 'restored');
  if (bad.length === 0) return { code: 'internal', message: 'The restore reported no account.' };
  return {
    code: 'internal',
    message: `Not restored: ${bad.map((a) => `${a.email} (${a.status}${a.error ? `: ${a.error}` : ''})`).join('; ')}.`,
  };
}
