import path from 'node:path';
import { readCommittedOps, widenForOpenTransactions } from '../engine/standby/committed-ops';
import {
  lastCompleteSnapshot,
  newestCompleteSet,
  snapshotSets,
  STANDBY_VOLUMES,
  volumeLag,
  type SnapshotSet,
  type StandbyVolume,
  type VolumeRecord,
} from '../engine/standby/record';
import { DEFAULT_INTERVALS } from '../engine/standby/schedule';
import { StandbyDir } from '../engine/standby/standby-dir';
import { LocalTransport, openTransport } from '../engine/transport';
import type { JobRunner } from '../jobs/job-runner';
import type {
  JobSnapshot,
  ServerProfile,
  StandbyFailoverPreview,
  StandbyGlance,
  StandbySetInfo,
  StandbyStatus,
} from './contract';
import type { EventHub } from './events';
import { ApiFailure } from './failure';
import type { Handlers } from './handlers';
import { connectSpecOf, transportProfileOf } from './server-connect';
import type { ServerStore } from './server-store';
import { StandbyLinks } from './standby-links';

/**
 * The console's standby requests (docs/standby.md, "Console"): a server names another saved
 * server as its standby; its status (sets, per-volume times and lag) and a failover preview are
 * read from the standby's records with the engine's own functions (engine/standby/record.ts);
 * the failover itself runs in a job worker like a backup (jobs/standby-failover-job.ts).
 */
export interface StandbyParts {
  store: ServerStore;
  profile(id: string): Promise<ServerProfile>;
  runner: JobRunner;
  events: EventHub;
}

type Records = Partial<Record<StandbyVolume, VolumeRecord>>;
const GLANCE_MS = 10_000;

export function standbyHandlers(parts: StandbyParts) {
  const { store, runner, events } = parts;
  const links = new StandbyLinks(store.dir);
  const glances = new Map<string, StandbyGlance>();

  /** The link, the standby's profile and its snapshot directory; not-found when there is none. */
  async function standbyOf(serverId: string) {
    const primary = await parts.profile(serverId);
    const link = await links.get(serverId);
    if (!link) throw new ApiFailure('not-found', `${primary.name} has no standby: name one first.`);
    const standby = await parts.profile(link.standbyServerId).catch(() => {
      throw new ApiFailure(
        'not-found',
        `The standby of ${primary.name} (${link.standbyServerId}) is no longer a saved server.`,
      );
    });
    const dir = link.dir ?? path.posix.join(standby.zimbraHome, 'standby');
    return { primary, standby, dir };
  }

  /** Reads the standby's records over its own access (local or SSH), then closes the link. */
  async function readStandby<T>(
    standby: ServerProfile,
    dir: string,
    use: (records: Records, dir: StandbyDir) => Promise<T>,
  ): Promise<T> {
    const spec = connectSpecOf(standby, await store.passphrase(standby.id).catch(() => undefined));
    if (standby.access === 'ssh' && !standby.ssh?.hostKey)
      throw new ApiFailure(
        'conflict',
        `Test the connection to ${standby.name} and confirm its host key first.`,
      );
    let transport;
    try {
      transport = await openTransport(transportProfileOf(spec));
    } catch (error) {
      throw new ApiFailure('unreachable', `${standby.name} cannot be reached: ${(error as Error).message}`);
    }
    try {
      const sd = new StandbyDir(transport, dir);
      return await use(await sd.readRecords(), sd);
    } finally {
      await transport.close().catch(() => undefined);
    }
  }

  function setInfo(set: SnapshotSet, newest: SnapshotSet | null): StandbySetInfo {
    const v = (e: SnapshotSet['blobs']) => (e ? { id: e.id, takenAt: e.takenAt } : null);
    return {
      fromTime: set.fromTime,
      complete: set.complete,
      newest: newest === set,
      volumes: { mysql: v(set.mysql), blobs: v(set.blobs), index: v(set.index), redolog: v(set.redolog) },
    };
  }

  function statusOf(
    serverId: string,
    standby: ServerProfile,
    dir: string,
    records: Records,
    now: number,
  ): StandbyStatus {
    const sets = snapshotSets(records);
    const newest = newestCompleteSet(sets);
    const lag = volumeLag(records, now);
    const lastErrors = STANDBY_VOLUMES.map((v) => {
      const last = records[v]?.snapshots.at(-1);
      return last && !last.complete ? (last.error ?? 'in progress') : undefined;
    });
    return {
      serverId,
      standby: { serverId: standby.id, name: standby.name, dir },
      primary: Object.values(records)[0]?.primary ?? null,
      now,
      volumes: STANDBY_VOLUMES.map((v, i) => ({
        volume: v,
        ...lag[v],
        ...(lastErrors[i] ? { lastError: lastErrors[i] } : {}),
      })),
      sets: sets.map((s) => setInfo(s, newest)),
      failoverFrom: newest?.fromTime ?? null,
      lastRedoSnapshot: lastCompleteSnapshot(records.redolog)?.takenAt ?? null,
      redoLogs: records.redolog?.logs?.length ?? 0,
      lastError: lastErrors.find((e) => e !== undefined) ?? null,
    };
  }

  async function status(serverId: string): Promise<StandbyStatus> {
    const { standby, dir } = await standbyOf(serverId);
    const result = await readStandby(standby, dir, async (records) =>
      statusOf(serverId, standby, dir, records, Date.now()),
    );
    glances.set(serverId, glanceOf(result));
    return result;
  }

  function glanceOf(s: StandbyStatus): StandbyGlance {
    return {
      standbyServerId: s.standby.serverId,
      standbyName: s.standby.name,
      lagMs: s.volumes.find((v) => v.volume === 'redolog')?.lagMs ?? null,
      late: s.volumes
        .filter((v) => v.lagMs === null || v.lagMs > DEFAULT_INTERVALS[v.volume] * 1.5)
        .map((v) => v.volume),
      failoverFrom: s.failoverFrom,
      readAt: s.now,
      ...(s.lastError ? { problem: s.lastError } : {}),
    };
  }

  /** For the servers list: at most GLANCE_MS old, never slower than a few seconds. */
  async function glance(serverId: string): Promise<StandbyGlance | undefined> {
    const link = await links.get(serverId).catch(() => undefined);
    if (!link) return undefined;
    const cached = glances.get(serverId);
    if (cached && cached.standbyServerId === link.standbyServerId && Date.now() - cached.readAt < GLANCE_MS)
      return cached;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref(),
    );
    try {
      return await Promise.race([status(serverId).then(glanceOf), timeout]);
    } catch (error) {
      return {
        standbyServerId: link.standbyServerId,
        standbyName:
          (await parts.profile(link.standbyServerId).catch(() => undefined))?.name ?? link.standbyServerId,
        lagMs: null,
        late: [],
        failoverFrom: null,
        readAt: Date.now(),
        problem: (error as Error).message,
      };
    }
  }

  async function preview(serverId: string, failedAtMs: number | undefined): Promise<StandbyFailoverPreview> {
    const { standby, dir } = await standbyOf(serverId);
    return readStandby(standby, dir, async (records, sd) => {
      const sets = snapshotSets(records);
      const set = newestCompleteSet(sets);
      if (!set)
        throw new ApiFailure(
          'conflict',
          `${standby.name} holds no complete snapshot set yet (a mysql snapshot, then blobs and index, then a redo-log snapshot): a failover is not possible.`,
        );
      const lastRedo = lastCompleteSnapshot(records.redolog)!.takenAt;
      const to = failedAtMs ?? Date.now();
      const warnings: string[] = [];
      if (failedAtMs !== undefined && failedAtMs < lastRedo)
        warnings.push('The failure time given is before the last redo-log snapshot: the window is empty.');
      // Counting ops reads every redo log held: cheap when they are on this machine, not over SSH.
      let mailboxes: StandbyFailoverPreview['mailboxes'] = null;
      if (sd.transport instanceof LocalTransport) {
        const logs = (records.redolog?.logs ?? []).map((l) => ({
          name: `seq-${l.seq}.log`,
          seq: l.seq,
          path: sd.abs(`redolog/seq-${l.seq}.log`),
          from: 'given' as const,
        }));
        const committed = await readCommittedOps(logs);
        const from = widenForOpenTransactions(committed.ops, set.fromTime).fromTime;
        const counts = new Map<number, number>();
        for (const o of committed.ops)
          if (o.preparedAt >= from) counts.set(o.mailboxId, (counts.get(o.mailboxId) ?? 0) + 1);
        mailboxes = [...counts].sort((a, b) => a[0] - b[0]).map(([mailboxId, ops]) => ({ mailboxId, ops }));
      }
      return {
        serverId,
        standby: { serverId: standby.id, name: standby.name },
        set: setInfo(set, set),
        fromTime: set.fromTime,
        lastRedoSnapshot: lastRedo,
        dataLoss: {
          from: lastRedo,
          to,
          toIsFailureTime: failedAtMs !== undefined,
          ms: Math.max(0, to - lastRedo),
        },
        mailboxes,
        warnings,
      };
    });
  }

  async function startFailover(serverId: string, confirm: string, failedAtMs?: number): Promise<JobSnapshot> {
    const { primary, standby, dir } = await standbyOf(serverId);
    if (confirm.trim() !== standby.name)
      throw new ApiFailure(
        'bad-request',
        `Type the standby's name, ${standby.name}, to confirm: its database and volumes are overwritten.`,
      );
    const busy = runner.busy({ serverId: standby.id }) ?? runner.busy({ serverId });
    if (busy)
      throw new ApiFailure(
        'conflict',
        `A job is already running on ${busy.serverName} (${busy.id}): wait for it first.`,
      );
    if (standby.access === 'ssh' && !standby.ssh?.hostKey)
      throw new ApiFailure(
        'conflict',
        `Test the connection to ${standby.name} and confirm its host key first.`,
      );
    const job = runner.startStandbyFailover({
      serverId: primary.id,
      serverName: standby.name,
      connect: connectSpecOf(standby, await store.passphrase(standby.id).catch(() => undefined)),
      dir,
      ...(failedAtMs !== undefined ? { failedAt: failedAtMs } : {}),
    });
    glances.delete(serverId);
    events.emit('servers.changed', {});
    return job;
  }

  const handlers: Pick<
    Handlers,
    'standby.link' | 'standby.status' | 'standby.failover.preview' | 'standby.failover'
  > = {
    'standby.link': async ({ serverId, link }) => {
      await parts.profile(serverId);
      if (link) {
        if (link.standbyServerId === serverId)
          throw new ApiFailure('bad-request', 'A server cannot be its own standby.');
        await parts.profile(link.standbyServerId);
      }
      await links.set(serverId, link);
      glances.delete(serverId);
      events.emit('servers.changed', {});
      return {};
    },
    'standby.status': async ({ serverId }) => {
      await parts.profile(serverId);
      if (!(await links.get(serverId))) return { serverId, unlinked: true as const };
      return status(serverId);
    },
    'standby.failover.preview': ({ serverId, failedAtMs }) => preview(serverId, failedAtMs),
    'standby.failover': ({ serverId, confirm, failedAtMs }) => startFailover(serverId, confirm, failedAtMs),
  };
  return { handlers, glance };
}
