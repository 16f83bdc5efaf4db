import fs from 'node:fs';
import { targetPaths } from '../engine/target/layout';
import { listSessions, type SessionListing } from '../engine/target/session-list';
import type {
  BackupOverview,
  SessionAccount,
  SessionDetail,
  SessionInfo,
  SessionRef,
  TimelineGap,
  TimeRange,
} from './contract';

/**
 * A server's sessions as the console draws them, read from its backup target. A target may hold
 * several servers' sessions: those of another host name are left out once the server's host
 * name is known.
 */
export async function readTimeline(
  target: string,
  hostname: string | undefined,
): Promise<{
  sessions: SessionInfo[];
  coverage: TimeRange[];
  gaps: TimelineGap[];
  listings: SessionListing[];
}> {
  const listings = (await listSessions(target)).filter((s) => {
    const host = s.manifest?.server.hostname ?? s.live?.hostname;
    return !hostname || !s.manifest || host === hostname;
  });
  const sessions = listings.map(sessionInfo);
  return { sessions, ...redoCoverage(sessions), listings };
}

type Timeline = Awaited<ReturnType<typeof readTimeline>>;
const cache = new Map<string, { stamp: string; timeline: Timeline }>();

/**
 * readTimeline, reusing the last answer while the target's sessions/, tmp/ and lock are unchanged:
 * a commit, an abort, a delete or a new backup renames or creates entries there (changing the
 * directories' mtime), so a server list refreshed on every event does not re-read thousands of
 * manifests. A session in progress is always read again (its live status changes inside tmp/).
 */
export async function readTimelineCached(target: string, hostname: string | undefined): Promise<Timeline> {
  const paths = targetPaths(target);
  const mtime = (file: string) => {
    try {
      return String(fs.statSync(file).mtimeMs);
    } catch {
      return '-';
    }
  };
  const stamp = [paths.sessions, paths.tmp, paths.root].map(mtime).join(':');
  const key = `${target}\0${hostname ?? ''}`;
  const hit = cache.get(key);
  if (hit && hit.stamp === stamp && !hit.timeline.listings.some((s) => s.state === 'in progress'))
    return hit.timeline;
  const timeline = await readTimeline(target, hostname);
  cache.set(key, { stamp, timeline });
  return timeline;
}

export function sessionInfo(s: SessionListing): SessionInfo {
  const m = s.manifest;
  if (!m) {
    return {
      label: s.label,
      type: s.type,
      startMs: s.startMs,
      endMs: s.state === 'in progress' ? null : (s.live?.updatedMs ?? null),
      status: s.state === 'complete' ? 'invalid' : s.state,
      hostname: s.live?.hostname ?? null,
      accounts: s.live?.accounts.total ?? 0,
      accountErrors: s.live?.accounts.errors ?? 0,
      bytes: s.live?.bytes ?? 0,
      errors: s.reason ? [s.reason] : [],
      redoLogs: 0,
      redoTimeMs: null,
      redoSeq: null,
    };
  }
  return {
    label: m.label,
    type: m.type,
    startMs: m.startMs,
    endMs: m.endMs,
    status: m.status === 'in progress' ? 'invalid' : m.status,
    hostname: m.server.hostname,
    accounts: m.accounts.length,
    accountErrors: m.accounts.filter((a) => a.status === 'ERROR').length,
    bytes: m.accounts.reduce((sum, a) => sum + a.bytes, 0),
    errors: m.errors.map((e) => (e.email ? `${e.email}: ${e.message}` : e.message)),
    redoLogs: m.redoLogs?.length ?? 0,
    redoTimeMs: m.redo.timeMs ? { fromMs: m.redo.timeMs.min, toMs: m.redo.timeMs.max } : null,
    redoSeq: m.redo.seq,
  };
}

export function sessionDetail(s: SessionListing): SessionDetail {
  const accountList: SessionAccount[] = (s.manifest?.accounts ?? []).map((a) => ({
    email: a.email,
    status: a.status,
    bytes: a.bytes,
    ...(a.error ? { error: a.error } : {}),
    maintenance: a.maintenance ? { fromMs: a.maintenance.startMs, toMs: a.maintenance.endMs } : null,
  }));
  return { ...sessionInfo(s), accountList, warnings: s.manifest?.warnings ?? [] };
}

const usable = (s: SessionInfo) => s.status === 'completed' || s.status === 'completed with errors';

/**
 * Where a restore to any second is possible: from a usable full's start, for as long as usable
 * incrementals bring redo logs in unbroken sequence. A jump in sequence numbers ends the stretch
 * (a gap: ops there are lost to point-in-time restore) until the next full starts a new one.
 */
export function redoCoverage(sessions: SessionInfo[]): { coverage: TimeRange[]; gaps: TimelineGap[] } {
  const coverage: TimeRange[] = [];
  const gaps: TimelineGap[] = [];
  let open: { range: TimeRange; lastSeq: number | null } | null = null;
  const close = () => {
    if (open) coverage.push(open.range);
    open = null;
  };
  for (const s of [...sessions].sort((a, b) => a.startMs - b.startMs)) {
    if (!usable(s)) continue;
    const end = s.endMs ?? s.startMs;
    if (s.type === 'full') {
      if (open && end > open.range.toMs) open.range.toMs = end;
      if (!open) open = { range: { fromMs: s.startMs, toMs: end }, lastSeq: s.redoSeq?.max ?? null };
      else open.lastSeq = Math.max(open.lastSeq ?? 0, s.redoSeq?.max ?? 0) || open.lastSeq;
      continue;
    }
    if (!open) continue; // redo without a full before it: nothing to replay it onto
    if (s.redoSeq && open.lastSeq !== null && s.redoSeq.min > open.lastSeq + 1) {
      const from = open.range.toMs;
      gaps.push({
        fromMs: from,
        toMs: s.redoTimeMs?.fromMs ?? s.startMs,
        why: `redo logs ${open.lastSeq + 1}–${s.redoSeq.min - 1} are missing`,
      });
      close();
      continue;
    }
    open.range.toMs = Math.max(open.range.toMs, s.redoTimeMs?.toMs ?? end, end);
    if (s.redoSeq) open.lastSeq = s.redoSeq.max;
  }
  close();
  // Time with no session at all between two stretches is a gap too.
  for (let i = 1; i < coverage.length; i++) {
    const before = coverage[i - 1]!;
    const after = coverage[i]!;
    if (after.fromMs > before.toMs && !gaps.some((g) => g.fromMs === before.toMs))
      gaps.push({ fromMs: before.toMs, toMs: after.fromMs, why: 'no backup covers this time' });
  }
  return { coverage, gaps: gaps.sort((a, b) => a.fromMs - b.fromMs) };
}

function ref(s: SessionInfo | undefined): SessionRef | null {
  return s ? { label: s.label, startMs: s.startMs, endMs: s.endMs, status: s.status } : null;
}

export function overviewOf(sessions: SessionInfo[], coverage: TimeRange[]): BackupOverview {
  const last = (type: SessionInfo['type']) => sessions.filter((s) => s.type === type && usable(s)).at(-1);
  return {
    lastFull: ref(last('full')),
    lastIncremental: ref(last('incremental')),
    coverage: coverage.at(-1) ?? null,
    troubled: sessions.filter(
      (s) => (!usable(s) && s.status !== 'in progress') || s.status === 'completed with errors',
    ).length,
    sessions: sessions.length,
  };
}
