/**
 * Where a bench's lab lives on disk: which filesystem a directory is on (type, device, whether it
 * has a journal), and a loop-backed journaled ext4 made for one run.
 *
 * Why it matters: ext4 WITHOUT a journal (this machine's root, /dev/vda) passes over every inode
 * freed in the last minute or more when it allocates one (`recently_deleted()` in
 * fs/ext4/ialloc.c, checked only when the filesystem has no journal). After a restore has freed
 * thousands of files, each new file then costs 0.15–0.25 ms of system CPU instead of ~0.015 ms
 * (docs/benchmarks.md, "Restore and redo replay"). Zimbra servers run journaled ext4 or XFS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FilesystemInfo {
  /** Mount point of the filesystem holding the directory. */
  mountPoint: string;
  /** What is mounted there (`/dev/vda`, `/dev/loop0`, `tmpfs`). */
  source: string;
  type: string;
  /** 'yes'/'no' for ext3/ext4 (read from /proc/fs/jbd2), 'yes' for XFS, 'n/a' where the idea does not apply. */
  journal: 'yes' | 'no' | 'n/a' | 'unknown';
}

/** Undoes the escapes of /proc/self/mountinfo (`\040` for a space, …). */
const unescape = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The filesystem `dir` is on: the mount of /proc/self/mountinfo with the longest mount point above it. */
export function filesystemOf(dir: string): FilesystemInfo {
  const real = fs.realpathSync(dir);
  let best: { mountPoint: string; type: string; source: string } | null = null;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mountFields, fsFields] = line.split(' - ');
    if (!mountFields || !fsFields) continue;
    const mountPoint = unescape(mountFields.split(' ')[4] ?? '');
    const [type = '', source = ''] = fsFields.split(' ');
    const above = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
    // Later lines are mounted over earlier ones at the same point.
    if (above && (!best || mountPoint.length >= best.mountPoint.length)) {
      best = { mountPoint, type, source: unescape(source) };
    }
  }
  if (!best) return { mountPoint: '?', source: '?', type: 'unknown', journal: 'unknown' };
  return { ...best, journal: journalOf(best.type, best.source) };
}

function journalOf(type: string, source: string): FilesystemInfo['journal'] {
  if (type === 'ext4' || type === 'ext3') {
    // jbd2 lists each journal it runs as <block device>-<journal inode> (vda-8, loop0-8).
    if (!source.startsWith('/dev/')) return 'unknown';
    let journals: string[];
    try {
      journals = fs.readdirSync('/proc/fs/jbd2');
    } catch {
      return 'no'; // no journal at all on this machine
    }
    const device = path.basename(fs.realpathSync(source));
    return journals.some((j) => j.startsWith(`${device}-`)) ? 'yes' : 'no';
  }
  if (type === 'xfs') return 'yes';
  if (type === 'tmpfs' || type === 'ramfs' || type === 'btrfs' || type === 'zfs') return 'n/a';
  return 'unknown';
}

/** One line for a bench's output: `ext4 (/dev/loop0) at /tmp/x, journal: yes`. */
const JOURNAL_WORDS: Record<FilesystemInfo['journal'], string> = {
  yes: 'WITH a journal',
  no: 'WITHOUT a journal',
  'n/a': 'journal n/a',
  unknown: 'journal unknown',
};

export function describeFilesystem(info: FilesystemInfo): string {
  return `${info.type} (${info.source}) mounted at ${info.mountPoint}, ${JOURNAL_WORDS[info.journal]}`;
}

export interface MountedExt4 {
  /** The mounted filesystem's root. */
  dir: string;
  /** Unmounts it (the loop device goes with it) and removes the image. */
  remove(): void;
}

/**
 * Makes a sparse image of `mib` MiB in the system's temp directory, formats it as ext4 with a
 * journal (inode tables and journal written now, so no lazy-init thread runs during the bench)
 * and loop-mounts it. Root only.
 */
export function mountJournaledExt4(mib: number): MountedExt4 {
  if (process.getuid?.() !== 0) {
    throw new Error(
      '--journaled-ext4 needs root (it runs mkfs.ext4 and mount -o loop); run as root, or use --dir DIR',
    );
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-ext4-'));
  const image = path.join(base, 'ext4.img');
  const mountPoint = path.join(base, 'mnt');
  const removeFiles = () => fs.rmSync(base, { recursive: true, force: true });
  try {
    const fd = fs.openSync(image, 'w');
    fs.ftruncateSync(fd, mib * 1024 * 1024);
    fs.closeSync(fd);
    execFileSync(
      'mkfs.ext4',
      ['-q', '-F', '-O', 'has_journal', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    fs.mkdirSync(mountPoint);
    execFileSync('mount', ['-o', 'loop', image, mountPoint], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    removeFiles();
    throw error;
  }
  let mounted = true;
  const remove = () => {
    if (!mounted) return;
    // The lab's daemons may take a moment to let go of their files.
    for (let attempt = 1; ; attempt++) {
      try {
        execFileSync('umount', [mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
        break;
      } catch (error) {
        if (attempt >= 10) {
          throw new Error(
            `could not unmount ${mountPoint} (${String(error)}); by hand: umount ${mountPoint} && rm -r ${base}`,
          );
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      }
    }
    mounted = false;
    removeFiles();
  };
  const info = filesystemOf(mountPoint);
  if (info.mountPoint !== mountPoint || info.type !== 'ext4' || info.journal !== 'yes') {
    remove();
    throw new Error(
      `the image mounted at ${mountPoint} is not a journaled ext4: ${describeFilesystem(info)}`,
    );
  }
  return { dir: mountPoint, remove };
}
