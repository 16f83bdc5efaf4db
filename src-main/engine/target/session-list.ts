import fs from 'node:fs';
import path from 'node:path';
import { compareLabels, isLabel, parseLabel, type SessionType } from './labels';
import { targetPaths } from './layout';
import { readLock } from './lock';
import { lockHolderLiveness } from './lock-holder';
import { type Manifest, readManifest } from './manifest';
import { type LiveStatus, readLiveStatus } from './session-status';

/**
 * The sessions of a target as they stand on disk:
 * - complete: in sessions/, with a manifest that validates (the only ones to trust);
 * - invalid: in sessions/, but the manifest is missing or fails validation;
 * - in progress: in tmp/, and the target's lock is held by a live writer of that label;
 * - abandoned: in tmp/ with no live writer (a crash or kill; never complete, safe to remove).
 */
export type SessionState = 'complete' | 'invalid' | 'in progress' | 'abandoned';

export interface SessionListing {
  label: string;
  type: SessionType;
  startMs: number;
  state: SessionState;
  dir: string;
  /** Only for complete sessions. */
  manifest?: Manifest;
  /** Why a session is invalid. */
  reason?: string;
  /** The live status of a session in progress (or what an abandoned one last wrote). */
  live?: LiveStatus | null;
}

/** Every session of the target, oldest first. Directories whose names are not labels are not sessions. */
export async function listSessions(target: string): Promise<SessionListing[]> {
  const { sessions, tmp } = targetPaths(target);
  const out: SessionListing[] = [];
  for (const label of await labelsIn(sessions)) {
    const dir = path.join(sessions, label);
    const reading = await readManifest(dir);
    const base = { ...parseLabel(label), dir };
    if (reading.state === 'complete') out.push({ ...base, state: 'complete', manifest: reading.manifest });
    else
      out.push({
        ...base,
        state: 'invalid',
        reason: reading.state === 'missing' ? 'no manifest.json' : reading.reason,
      });
  }
  const lock = await readLock(target);
  const writing = lock.state === 'held' && lockHolderLiveness(lock.info) !== 'dead' ? lock.info.label : null;
  for (const label of await labelsIn(tmp)) {
    const dir = path.join(tmp, label);
    out.push({
      ...parseLabel(label),
      dir,
      state: label === writing ? 'in progress' : 'abandoned',
      live: await readLiveStatus(dir),
    });
  }
  return out.sort((a, b) => compareLabels(a.label, b.label));
}

/** The complete sessions only, oldest first. */
export async function completeSessions(target: string): Promise<(SessionListing & { manifest: Manifest })[]> {
  return (await listSessions(target)).filter(
    (s): s is SessionListing & { manifest: Manifest } => s.state === 'complete',
  );
}

async function labelsIn(dir: string): Promise<string[]> {
  try {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && isLabel(e.name)).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
