import path from 'node:path';
import type { Transport } from '../transport';

/**
 * Storage snapshots on the primary (the seed: "use the snapshot feature provided by the storage
 * layer"): where a volume's path lies on btrfs (a subvolume), LVM (a logical volume) or ZFS (a
 * dataset), an instant read-only snapshot is taken over the transport, the copy reads the
 * snapshot instead of the live files, and the snapshot is removed after. Detection and the
 * command plan are separate from running it, so the plans of the kinds this machine cannot run
 * (no device-mapper, no ZFS) are unit-tested as argv lists.
 *
 * Every snapshot's name starts with `mailvault-<kind>-`, kind being blobs or index: a leftover of
 * a run that died is recognised and removed by the next run of the same kind, never one of the
 * other kind (blobs and index often share a file system).
 */
export type StorageMethod = 'btrfs' | 'lvm' | 'zfs';
export type SnapshotMethod = 'copy' | StorageMethod;

/** What findmnt and the storage tools say about the file system holding a path. */
export interface StorageInfo {
  fstype: string;
  /** findmnt's SOURCE: a device, `/dev/loop0[/store]`, or a ZFS dataset name. */
  source: string;
  /** The mount point. */
  target: string;
  /** btrfs: the subvolume holding the path (the nearest directory with inode 256). */
  subvolume?: string;
  /** LVM: `vg/lv` when the source is a logical volume. */
  lv?: string;
  /** ZFS: the dataset when `zfs list` knows it. */
  dataset?: string;
}

export interface SnapshotPlan {
  method: StorageMethod;
  name: string;
  /** Commands run in order to take the snapshot (the instant is the one that creates it). */
  create: string[][];
  /** Where the volume's files are inside the snapshot. */
  readPath: string;
  /** Commands run in order to remove it (each one tolerated to fail: it may be half made). */
  remove: string[][];
  /** Leftovers of this kind from a run that died, found at detection: removed before create. */
  leftovers: string[][];
}

/**
 * One command on the server that prints, one per line: FSTYPE, SOURCE, TARGET (findmnt, raw),
 * then per kind: btrfs the subvolume root; LVM `vg/lv` from lvs; ZFS the dataset from zfs list;
 * then the names of leftover snapshots of this kind, each line `leftover <name>`.
 */
export const DETECT_SCRIPT = [
  'p="$1"; kind="$2"',
  'line=$(findmnt -n -r -o FSTYPE,SOURCE,TARGET -T "$p") || exit 0',
  'set -- $line; fstype="$1"; source="$2"; target="$3"',
  'printf "%s\\n%s\\n%s\\n" "$fstype" "$source" "$target"',
  'case "$fstype" in',
  // The subvolume holding the path: inode 256 marks a subvolume's root on btrfs.
  ' btrfs) command -v btrfs >/dev/null || exit 0; d="$p"; while [ "$(stat -c %i -- "$d")" != 256 ] && [ "$d" != / ]; do d=$(dirname -- "$d"); done; echo "$d";' +
    ' for s in "$d"/.mailvault-"$kind"-*; do if [ -d "$s" ]; then echo "leftover $s"; fi; done ;;',
  ' zfs) command -v zfs >/dev/null || exit 0; zfs list -H -o name -- "$source" 2>/dev/null | head -n 1;' +
    ' zfs list -H -t snapshot -o name -d 1 -- "$source" 2>/dev/null | grep -F "@mailvault-$kind-" | sed "s/^/leftover /" ;;',
  ' *) case "$source" in /dev/mapper/*|/dev/dm-*) command -v lvs >/dev/null || exit 0;' +
    ' vglv=$(lvs --noheadings --separator / -o vg_name,lv_name -- "$source" 2>/dev/null | tr -d " ");' +
    ' [ -n "$vglv" ] || exit 0; echo "$vglv"; vg=${vglv%%/*};' +
    ' lvs --noheadings -o lv_name -- "$vg" 2>/dev/null | tr -d " " | grep "^mailvault-$kind-" | sed "s|^|leftover $vg/|" ;; esac ;;',
  'esac',
  // A grep that found no leftover is not a failure of the detection.
  'exit 0',
].join('\n');

/** Parses the output of DETECT_SCRIPT (findmnt's raw output escapes blanks as \x20). */
export function parseDetect(output: string): { info: StorageInfo | null; leftovers: string[] } {
  const unescape = (s: string) =>
    s.replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  const lines = output.split('\n').filter((l) => l.length > 0);
  const leftovers = lines.filter((l) => l.startsWith('leftover ')).map((l) => l.slice(9));
  const [fstype, source, target, extra] = lines.filter((l) => !l.startsWith('leftover '));
  if (!fstype || !source || !target) return { info: null, leftovers: [] };
  const info: StorageInfo = { fstype, source: unescape(source), target: unescape(target) };
  if (extra) {
    if (fstype === 'btrfs') info.subvolume = extra;
    else if (fstype === 'zfs') info.dataset = extra;
    else if (/^[A-Za-z0-9+_.-]+\/[A-Za-z0-9+_.-]+$/.test(extra)) info.lv = extra;
  }
  return { info, leftovers };
}

/** The relative path of `p` below `root` ('' for the root itself). */
function below(root: string, p: string): string {
  const rel = path.posix.relative(root, p);
  if (rel.startsWith('..')) throw new Error(`${p} is not below ${root}`);
  return rel;
}

/**
 * The plan for a snapshot of the storage holding `volumePath`, named `name` (which must start
 * with `mailvault-<kind>-`), or null when the storage cannot snapshot: the copy method then.
 * LVM needs room in the volume group for the snapshot's copy-on-write area (`lvmSize`, default
 * 10% of the origin) and mounts it read-only (xfs needs nouuid: the snapshot has the origin's).
 */
export function planSnapshot(
  info: StorageInfo,
  volumePath: string,
  name: string,
  leftovers: string[] = [],
  options: { lvmSize?: string } = {},
): SnapshotPlan | null {
  if (!/^mailvault-(blobs|index)-[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`${name}: not a snapshot name of ours`);
  if (info.fstype === 'btrfs' && info.subvolume) {
    const snap = path.posix.join(info.subvolume, `.${name}`);
    return {
      method: 'btrfs',
      name,
      create: [['btrfs', 'subvolume', 'snapshot', '-r', '--', info.subvolume, snap]],
      readPath: path.posix.join(snap, below(info.subvolume, volumePath)),
      remove: [['btrfs', 'subvolume', 'delete', '--', snap]],
      leftovers: leftovers.map((s) => ['btrfs', 'subvolume', 'delete', '--', s]),
    };
  }
  if (info.fstype === 'zfs' && info.dataset) {
    const snap = `${info.dataset}@${name}`;
    return {
      method: 'zfs',
      name,
      create: [['zfs', 'snapshot', '--', snap]],
      // Every ZFS file system shows its snapshots read-only under .zfs/snapshot.
      readPath: path.posix.join(info.target, '.zfs/snapshot', name, below(info.target, volumePath)),
      remove: [['zfs', 'destroy', '--', snap]],
      leftovers: leftovers.map((s) => ['zfs', 'destroy', '--', s]),
    };
  }
  if (info.lv) {
    const vg = info.lv.split('/')[0]!;
    const mnt = `/run/mailvault/${name}`;
    const ro = info.fstype === 'xfs' ? 'ro,nouuid' : 'ro';
    const size = options.lvmSize ?? '10%ORIGIN';
    const sizeArgs = size.includes('%') ? ['-l', size] : ['-L', size];
    return {
      method: 'lvm',
      name,
      create: [
        ['lvcreate', '--snapshot', '--name', name, ...sizeArgs, '--', info.lv],
        ['mkdir', '-p', '--', mnt],
        ['mount', '-o', ro, '--', `/dev/${vg}/${name}`, mnt],
      ],
      readPath: path.posix.join(mnt, below(info.target, volumePath)),
      remove: [
        ['umount', '--', mnt],
        ['rmdir', '--', mnt],
        ['lvremove', '-f', '--', `${vg}/${name}`],
      ],
      leftovers: leftovers.flatMap((lv) => {
        const m = `/run/mailvault/${lv.split('/')[1]!}`;
        return [
          ['umount', '--', m],
          ['rmdir', '--', m],
          ['lvremove', '-f', '--', lv],
        ];
      }),
    };
  }
  return null;
}

export async function detectStorage(
  t: Transport,
  volumePath: string,
  kind: 'blobs' | 'index',
): Promise<{ info: StorageInfo | null; leftovers: string[] }> {
  const r = await t.exec(['sh', '-c', DETECT_SCRIPT, 'sh', volumePath, kind], { timeoutMs: 60_000 });
  if (r.code !== 0) return { info: null, leftovers: [] };
  return parseDetect(r.stdout.toString('utf8'));
}

async function runAll(t: Transport, commands: string[][], tolerate: boolean): Promise<void> {
  for (const argv of commands) {
    const r = await t.exec(argv, { timeoutMs: 600_000 });
    if (r.code !== 0 && !tolerate)
      throw new Error(`${t.name}: ${argv.slice(0, 3).join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  }
}

/** An instant read-only snapshot being read: `readPath` until `release()`. */
export interface TakenSnapshot {
  plan: SnapshotPlan;
  /** When the command that makes the snapshot was issued: everything written before is in it. */
  at: number;
  release(): Promise<void>;
}

/**
 * Takes a storage snapshot of the volume at `volumePath` when its storage can, else null.
 * A failure to create it is an error (the administrator's storage said it could), not a quiet
 * fall back to copying: the record would otherwise claim less than it holds.
 */
export async function takeStorageSnapshot(
  t: Transport,
  volumePath: string,
  kind: 'blobs' | 'index',
  name: string,
  options: { lvmSize?: string } = {},
): Promise<TakenSnapshot | null> {
  const { info, leftovers } = await detectStorage(t, volumePath, kind);
  if (!info) return null;
  const plan = planSnapshot(info, volumePath, name, leftovers, options);
  if (!plan) return null;
  await runAll(t, plan.leftovers, true);
  const at = Date.now();
  try {
    await runAll(t, plan.create, false);
  } catch (error) {
    await runAll(t, plan.remove, true);
    throw error;
  }
  return { plan, at, release: () => runAll(t, plan.remove, false) };
}
