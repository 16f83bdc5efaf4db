import fs from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { targetPaths } from '../target/layout';

/**
 * The redo logs a restore replays after a full backup: from the log that was live when the full
 * began (its redo.seq.min; ops already in the full are skipped by change id), one sequence after
 * the other, as far as the target holds them. Only logs a committed session lists count (a copy
 * a killed incremental left in redologs/ is not vouched for), and only if the file is there.
 */
export interface ChainLog {
  name: string;
  seq: number;
  bytes: number;
  firstOpMs: number | null;
  lastOpMs: number | null;
  /** The session that brought it in. */
  session: string;
  file: string;
}

export interface RedoChain {
  logs: ChainLog[];
  /** Why the chain stops short: a sequence no session lists though later ones exist, or a missing file. */
  missing: { seq: number; name?: string; why: string } | null;
  /** True when the chain reaches untilMs (a log whose last op is at or after it). */
  reachesUntil: boolean;
  /** The last op time the chain holds; null when it holds no op. */
  lastOpMs: number | null;
}

const held = new WeakMap<Catalog, Map<string, Map<number, Omit<ChainLog, 'file'>>>>();

/** Every log committed sessions of a server list, by sequence (the first listing wins). */
export function heldLogs(catalog: Catalog, serverId: string): Map<number, Omit<ChainLog, 'file'>> {
  // Asked several times per query (best point, each burst): built once per catalog and server.
  let byServer = held.get(catalog);
  if (!byServer) held.set(catalog, (byServer = new Map()));
  const cached = byServer.get(serverId);
  if (cached) return cached;
  const bySeq = new Map<number, Omit<ChainLog, 'file'>>();
  byServer.set(serverId, bySeq);
  for (const s of catalog.sessions)
    if (s.serverId === serverId)
      for (const [name, seq, bytes, firstOpMs, lastOpMs] of s.redoLogs)
        if (!bySeq.has(seq)) bySeq.set(seq, { name, seq, bytes, firstOpMs, lastOpMs, session: s.label });
  return bySeq;
}

export function redoChain(
  target: string,
  catalog: Catalog,
  serverId: string,
  fromSeq: number,
  untilMs: number | null,
): RedoChain {
  const logs = heldLogs(catalog, serverId);
  let highest = -1;
  for (const seq of logs.keys()) if (seq > highest) highest = seq;
  const dir = targetPaths(target).redologs;
  const chain: RedoChain = { logs: [], missing: null, reachesUntil: false, lastOpMs: null };
  for (let seq = fromSeq; seq <= highest; seq++) {
    const log = logs.get(seq);
    if (!log) {
      chain.missing = { seq, why: `no session in the target holds redo log sequence ${seq}` };
      break;
    }
    const file = path.join(dir, log.name);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      chain.missing = { seq, name: log.name, why: `redologs/${log.name} is missing` };
      break;
    }
    if (size !== log.bytes) {
      chain.missing = {
        seq,
        name: log.name,
        why: `redologs/${log.name} has ${size} bytes, its session says ${log.bytes}`,
      };
      break;
    }
    chain.logs.push({ ...log, file });
    if (log.lastOpMs !== null) chain.lastOpMs = Math.max(chain.lastOpMs ?? 0, log.lastOpMs);
    // Records are appended in time order (bar transactions re-logged at rollover, which are
    // older): once a log's last op is past untilMs, later logs hold no commit before it.
    if (untilMs !== null && log.lastOpMs !== null && log.lastOpMs > untilMs) {
      chain.reachesUntil = true;
      break;
    }
  }
  return chain;
}
