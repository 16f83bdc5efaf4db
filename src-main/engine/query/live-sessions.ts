import fs from 'node:fs';
import path from 'node:path';
import { isLabel, parseLabel, type SessionType } from '../target/labels';
import { targetPaths } from '../target/layout';
import { readLock } from '../target/lock';
import { lockHolderLiveness } from '../target/lock-holder';
import { readLiveStatus, type LiveStatus } from '../target/session-status';

/**
 * Sessions still in tmp/: in progress when the target's lock is held by a live writer of that
 * label, abandoned otherwise (a crash or kill). Read apart from the catalog, which holds
 * committed sessions only: a live one changes twice a second.
 */
export interface TmpSession {
  label: string;
  type: SessionType;
  startMs: number;
  state: 'in progress' | 'abandoned';
  live: LiveStatus | null;
}

export async function tmpSessions(target: string): Promise<TmpSession[]> {
  const { tmp } = targetPaths(target);
  let names: string[];
  try {
    names = (await fs.promises.readdir(tmp, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && isLabel(e.name))
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (names.length === 0) return [];
  const lock = await readLock(target);
  const writing = lock.state === 'held' && lockHolderLiveness(lock.info) !== 'dead' ? lock.info.label : null;
  const out: TmpSession[] = [];
  for (const label of names.sort()) {
    const { type, startMs } = parseLabel(label);
    out.push({
      label,
      type,
      startMs,
      state: label === writing ? 'in progress' : 'abandoned',
      live: await readLiveStatus(path.join(tmp, label)),
    });
  }
  return out;
}
