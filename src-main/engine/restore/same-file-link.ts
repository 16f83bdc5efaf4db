import fs from 'node:fs';
import path from 'node:path';

/**
 * A restored file that the mailbox has already, byte for byte, under the same name: the staged
 * file is made a hard link to it instead of a new file.
 *
 * Creating a file costs far more here than reading one. On this machine's ext4 (mounted without
 * a journal) the kernel skips every inode freed in the last 60-360 s when it allocates one
 * (fs/ext4/ialloc.c, recently_deleted), and backups, restores and benches on the same disk free
 * thousands: a creation took 0.5-0.75 ms of system CPU then, against 0.03-0.07 ms otherwise
 * (2,000-4,000 files of 22 KB). A restore that rewrites a mailbox still mostly as it was
 * backed up (the common case: restoring to a point before some damage) then creates no inode
 * for those files, and removing the replaced folder frees none (its names only drop a link):
 * the restore gets cheaper, and so do the file creations after it (a replay's blobs).
 *
 * Only a regular file in the live mailbox folder (no link followed, its folder's real path
 * inside the folder's) with the same size and bytes is linked; anything else, or any error,
 * and the caller writes the file as before.
 */
export class SameFileLinker {
  /** Real paths of live folders checked, by their path (null: outside the live root, or absent). */
  private readonly realDirs = new Map<string, string | null>();
  private readonly realRoots = new Map<string, string | null>();

  /** Files linked, and bytes not written thanks to that. */
  linked = 0;
  linkedBytes = 0;

  /**
   * Links `target` to liveRoot/relative if that holds exactly `data`; false when it did not.
   * `relative` is one the caller has checked safe (resolveInside: no `..`, not absolute).
   */
  link(liveRoot: string, relative: string, target: string, data: Buffer): boolean {
    const source = this.sourceOf(liveRoot, relative);
    if (source === null) return false;
    let fd: number;
    try {
      fd = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      return false;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile() || stat.size !== data.length || !sameBytes(fd, data)) return false;
      fs.linkSync(source, target);
      // The name linked is the file checked (nothing replaced it in between).
      const made = fs.lstatSync(target);
      if (made.ino !== stat.ino || made.dev !== stat.dev) {
        fs.unlinkSync(target);
        return false;
      }
      this.linked++;
      this.linkedBytes += data.length;
      return true;
    } catch {
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The live file's path when its folder is really inside the live root; null otherwise. */
  private sourceOf(liveRoot: string, relative: string): string | null {
    const source = path.join(liveRoot, relative);
    let realRoot = this.realRoots.get(liveRoot);
    if (realRoot === undefined) {
      realRoot = realPathOrNull(liveRoot);
      this.realRoots.set(liveRoot, realRoot);
    }
    if (realRoot === null) return null;
    const dir = path.dirname(source);
    let real = this.realDirs.get(dir);
    if (real === undefined) {
      real = realPathOrNull(dir);
      if (real !== null && real !== realRoot && !real.startsWith(realRoot + path.sep)) real = null;
      this.realDirs.set(dir, real);
    }
    return real === null ? null : path.join(real, path.basename(source));
  }
}

function realPathOrNull(dir: string): string | null {
  try {
    return fs.realpathSync(dir);
  } catch {
    return null;
  }
}

/** Bytes read for a comparison, kept for the next (one per blob was most of the restore's garbage). */
let scratch = Buffer.allocUnsafe(0);
const SCRATCH_MAX = 1024 * 1024;

/** Whether the open file's bytes (its size already checked) are `data`'s. */
function sameBytes(fd: number, data: Buffer): boolean {
  if (data.length > scratch.length && data.length <= SCRATCH_MAX)
    scratch = Buffer.allocUnsafe(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(data.length))));
  const held =
    data.length <= scratch.length ? scratch.subarray(0, data.length) : Buffer.allocUnsafe(data.length);
  let at = 0;
  while (at < held.length) {
    const read = fs.readSync(fd, held, at, held.length - at, at);
    if (read === 0) return false;
    at += read;
  }
  return held.equals(data);
}
