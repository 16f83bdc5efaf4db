import fs from 'node:fs';
import path from 'node:path';
import { parseArchiveFileName } from '../redolog/archive-names';
import { fsyncDir } from './durable-fs';
import { compareLabels, isLabel, parseLabel } from './labels';
import { targetPaths } from './layout';
import { acquireLock } from './lock';
import { type Manifest, readManifest } from './manifest';
import { completeSessions, listSessions, type SessionListing } from './session-list';
import { parseAge, parseZimbraTime, TimeArgumentError } from './zimbra-time';

/**
 * `zmbackup -del`: by label, that session and every earlier one; by date or age, every session
 * that began before it. Redo logs go too once no remaining session needs them: a log stays while
 * a remaining session lists it, or while a remaining full of its server began at or before it
 * (restores from that full replay it).
 *
 * Crash-safe: a session is first renamed out of `sessions/` into `deleting/` (one atomic rename,
 * then fsync), so an interrupted delete never leaves one that looks complete but is not; whatever
 * is in `deleting/` is removed by the next delete.
 */
export type DeleteSpec = { kind: 'label'; label: string } | { kind: 'before'; timeMs: number; what: string };

export class DeleteArgumentError extends Error {}

export function parseDeleteArgument(value: string, now = Date.now()): DeleteSpec {
  // parseZimbraTime trims; padding, a newline or an escape in the value is a mistake: delete nothing.
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value || value === '')
    throw new DeleteArgumentError(
      `-del ${value}: not a label, a date (YYYY/MM/DD[-hh:mm:ss]) or an age (7d, 1m, 1y)`,
    );
  if (/^(full|incr)-/.test(value)) {
    if (!isLabel(value))
      throw new DeleteArgumentError(`-del ${value}: not a session label (full-YYYYMMDD.HHMMSS.mmm)`);
    return { kind: 'label', label: value };
  }
  const age = parseAge(value, now);
  if (age !== null) return { kind: 'before', timeMs: age, what: `older than ${value}` };
  try {
    return { kind: 'before', timeMs: parseZimbraTime(value), what: `older than ${value}` };
  } catch (error) {
    if (!(error instanceof TimeArgumentError)) throw error;
    throw new DeleteArgumentError(
      `-del ${value}: not a label, a date (YYYY/MM/DD[-hh:mm:ss]) or an age (7d, 1m, 1y)`,
    );
  }
}

export interface DeletePlan {
  sessions: SessionListing[];
  redoLogs: string[];
}

function redoLogsToDelete(
  names: string[],
  remaining: Array<{ manifest: Manifest }>,
  gone: Array<{ manifest?: Manifest }>,
): string[] {
  const listedByRemaining = new Set(remaining.flatMap((s) => (s.manifest.redoLogs ?? []).map((l) => l.name)));
  const hostOf = new Map<string, string>();
  for (const s of gone)
    for (const l of s.manifest?.redoLogs ?? []) hostOf.set(l.name, s.manifest!.server.hostname);
  const keepFrom = new Map<string, number>();
  for (const { manifest } of remaining)
    if (manifest.type === 'full' && manifest.redo.seq)
      keepFrom.set(
        manifest.server.hostname,
        Math.min(keepFrom.get(manifest.server.hostname) ?? Infinity, manifest.redo.seq.min),
      );
  return names.filter((name) => {
    if (listedByRemaining.has(name)) return false;
    const host = hostOf.get(name);
    if (host === undefined) return false; // not a deleted session's: none of this delete's business
    return parseArchiveFileName(name)!.seq < (keepFrom.get(host) ?? Infinity);
  });
}

export async function planDelete(target: string, spec: DeleteSpec): Promise<DeletePlan> {
  const committed = (await listSessions(target)).filter(
    (s) => s.state === 'complete' || s.state === 'invalid',
  );
  let doomed: SessionListing[];
  if (spec.kind === 'label') {
    if (!committed.some((s) => s.label === spec.label))
      throw new DeleteArgumentError(`-del ${spec.label}: no such session in ${target}`);
    const at = parseLabel(spec.label).startMs;
    doomed = committed.filter(
      (s) => s.startMs < at || (s.startMs === at && compareLabels(s.label, spec.label) <= 0),
    );
  } else doomed = committed.filter((s) => s.startMs < spec.timeMs);
  const remaining = committed.filter(
    (s): s is SessionListing & { manifest: Manifest } => !doomed.includes(s) && s.manifest !== undefined,
  );
  const names = (await fs.promises.readdir(targetPaths(target).redologs).catch(() => [] as string[])).filter(
    (n) => parseArchiveFileName(n) !== null,
  );
  return { sessions: doomed, redoLogs: redoLogsToDelete(names, remaining, doomed) };
}

type Checkpoint = (step: string) => Promise<void> | void;

async function removeLogs(dir: string, names: string[], checkpoint?: Checkpoint): Promise<void> {
  for (const name of names) {
    await fs.promises.rm(path.join(dir, name), { force: true });
    await checkpoint?.('log');
  }
  if (names.length > 0) await fsyncDir(dir);
}

/**
 * Finishes what an interrupted delete left in `deleting/`: first the redo logs only those
 * sessions needed (their manifests are still there to say which), then the sessions.
 */
async function finishEarlierDeletes(target: string, checkpoint?: Checkpoint): Promise<void> {
  const { root, redologs } = targetPaths(target);
  const deleting = path.join(root, 'deleting');
  const names = await fs.promises.readdir(deleting).catch(() => [] as string[]);
  if (names.length === 0) return;
  const gone: Array<{ manifest: Manifest }> = [];
  for (const name of names) {
    const reading = await readManifest(path.join(deleting, name));
    if (reading.state === 'complete') gone.push({ manifest: reading.manifest });
  }
  const remaining = await completeSessions(target);
  const logs = (await fs.promises.readdir(redologs).catch(() => [] as string[])).filter(
    (n) => parseArchiveFileName(n) !== null,
  );
  await removeLogs(redologs, redoLogsToDelete(logs, remaining, gone), checkpoint);
  for (const name of names) {
    await fs.promises.rm(path.join(deleting, name), { recursive: true, force: true });
    await checkpoint?.('removed');
  }
}

export async function deleteSessions(
  target: string,
  spec: DeleteSpec,
  options: {
    dryRun?: boolean;
    onPlan?: (plan: DeletePlan) => void;
    /** Called after each step (fault injection in the tests). */
    checkpoint?: Checkpoint;
  } = {},
): Promise<DeletePlan> {
  if (options.dryRun) {
    const plan = await planDelete(target, spec);
    options.onPlan?.(plan);
    return plan;
  }
  const lock = await acquireLock(target, { operation: 'delete' });
  try {
    const paths = targetPaths(target);
    await finishEarlierDeletes(target, options.checkpoint);
    const plan = await planDelete(target, spec);
    options.onPlan?.(plan);
    const deleting = path.join(paths.root, 'deleting');
    await fs.promises.mkdir(deleting, { recursive: true });
    for (const session of plan.sessions) {
      // Out of sessions/ first, in one rename: from here it is not listed, whatever happens next.
      await fs.promises.rename(session.dir, path.join(deleting, session.label));
      await fsyncDir(paths.sessions);
      await fsyncDir(deleting);
      await options.checkpoint?.('renamed');
    }
    // Logs before the sessions' files: while a session is in deleting/ its manifest still says
    // which logs it held, so a delete cut short anywhere is finished by the next one.
    await removeLogs(paths.redologs, plan.redoLogs, options.checkpoint);
    for (const session of plan.sessions) {
      await fs.promises.rm(path.join(deleting, session.label), { recursive: true, force: true });
      await options.checkpoint?.('removed');
    }
    return plan;
  } finally {
    await lock.release().catch(() => undefined);
  }
}
