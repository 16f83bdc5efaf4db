import type { Dirent, Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsError, isMissing } from './fs-errors';
import type { RemoteFileInfo } from './types';

/** How many lstat calls run at once: enough to hide disk latency on a large message store. */
const LSTAT_PARALLEL = 64;

export function infoFrom(filePath: string, st: Stats): RemoteFileInfo {
  return {
    path: filePath,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    isDirectory: st.isDirectory(),
  };
}

/**
 * Every regular file under root (relative paths, '/'-separated), like `find root -type f`:
 * symbolic links are not followed, and entries that vanish while we look are left out, because
 * a live mail server deletes blobs at any moment.
 */
export async function walkLocal(transportName: string, root: string): Promise<RemoteFileInfo[]> {
  const files: RemoteFileInfo[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) continue; // root or a subdirectory is gone (or root is a file)
      throw fsError(transportName, 'list', path.join(root, rel), error);
    }
    const candidates: string[] = [];
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) pending.push(childRel);
      else if (entry.isFile()) candidates.push(childRel);
    }
    for (let i = 0; i < candidates.length; i += LSTAT_PARALLEL) {
      const batch = candidates.slice(i, i + LSTAT_PARALLEL);
      const infos = await Promise.all(batch.map((childRel) => lstatOrNull(transportName, root, childRel)));
      for (const info of infos) if (info) files.push(info);
    }
  }
  return files;
}

async function lstatOrNull(transportName: string, root: string, rel: string): Promise<RemoteFileInfo | null> {
  try {
    const st = await fs.lstat(path.join(root, rel));
    return st.isFile() ? infoFrom(rel, st) : null;
  } catch (error) {
    if (isMissing(error)) return null;
    throw fsError(transportName, 'stat', path.join(root, rel), error);
  }
}
