import type { RowDataPacket } from 'mysql2/promise';
import type { ServerAccess } from '../server/server-access';
import { VOLUME_TYPE, volumeFromRow } from '../server/volumes';
import type { SnapshotEntry } from './record';
import type { StandbyDir } from './standby-dir';
import { takeStorageSnapshot } from './storage-snapshot';
import { copyFiles, isSafeRelPath, removeFromMirror, type Sent, type TransferHooks } from './transfer';

/**
 * The blobs and index snapshots: each volume of the kind (zimbra.volume) is read from an instant
 * storage snapshot where its storage offers one (btrfs, LVM, ZFS: storage-snapshot.ts; method
 * 'auto'), else live, and compared with its mirror on the standby. Blobs are write-once (a new revision
 * is a new file), so a blob whose name and size the mirror has is not sent again; index files
 * are rewritten, so one is sent when its size or modification second differs. Files gone from
 * the primary go from the mirror. Read live (the copy method) it is not a point-in-time image:
 * files change while the listing is copied, which replay from the set's mysql time makes good for blobs (it rewrites
 * the blobs of replayed ops) and a reindex for the index (docs/standby.md).
 */
export async function snapshotVolumeFiles(
  primary: ServerAccess,
  dir: StandbyDir,
  entry: SnapshotEntry,
  kind: 'blobs' | 'index',
  hooks: TransferHooks,
  method: 'auto' | 'copy' = 'auto',
): Promise<void> {
  const [rows] = await primary.db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const wanted =
    kind === 'blobs' ? [VOLUME_TYPE.primaryMessage, VOLUME_TYPE.secondaryMessage] : [VOLUME_TYPE.index];
  const volumes = rows.map(volumeFromRow).filter((v) => (wanted as number[]).includes(v.type));
  entry.volumes = volumes.map((v) => ({ id: v.id, type: v.type, path: v.path }));
  entry.takenAt = Date.now();
  const sent: Sent = { bytes: 0, files: 0 };
  try {
    for (const [i, volume] of volumes.entries()) {
      const name = `mailvault-${entry.id}-v${volume.id}`;
      const snap =
        method === 'auto' ? await takeStorageSnapshot(primary.transport, volume.path, kind, name) : null;
      entry.volumes[i]!.method = snap?.plan.method ?? 'copy';
      if (snap) entry.volumes[i]!.snapshotAt = snap.at;
      try {
        await copyVolume(
          primary,
          snap?.plan.readPath ?? volume.path,
          dir,
          entry,
          `${kind}/${volume.id}`,
          kind,
          hooks,
          sent,
        );
      } finally {
        await snap?.release();
      }
    }
    entry.method = [...new Set(entry.volumes.map((v) => v.method))].join('+');
    // The snapshot's own tree: hard links to the mirror's files as they are now (no bytes
    // copied). The mirror goes on to newer snapshots; this tree stays what this one was, so
    // loading an older set is exact (retention.ts removes it when no kept set uses it).
    for (const volume of volumes)
      await dir.sh('rm -rf -- "$2" && mkdir -p -- "$1" "$(dirname -- "$2")" && cp -al -- "$1" "$2"', [
        dir.abs(`${kind}/${volume.id}`),
        dir.abs(frozenRel(entry.id, volume.id)),
      ]);
    entry.frozen = true;
  } finally {
    entry.files += sent.files;
    entry.bytes += sent.bytes;
  }
}

/** Where a blobs or index snapshot's own tree of a volume is, in the standby directory. */
export const frozenRel = (snapshotId: string, volumeId: number) => `frozen/${snapshotId}/${volumeId}`;

/** Brings one mirror in line with the files under `root` (the live volume or its snapshot). */
async function copyVolume(
  primary: ServerAccess,
  root: string,
  dir: StandbyDir,
  entry: SnapshotEntry,
  mirror: string,
  kind: 'blobs' | 'index',
  hooks: TransferHooks,
  sent: Sent,
): Promise<void> {
  // mailboxd stages multi-recipient deliveries in <store>/incoming: not mailbox data.
  const files = (await primary.transport.walk(root)).filter(
    (f) => isSafeRelPath(f.path) && !(kind === 'blobs' && f.path.startsWith('incoming/')),
  );
  const held = new Map((await dir.walk(mirror)).map((f) => [f.path, f]));
  const second = (ms: number) => Math.floor(ms / 1000);
  const changed = files.filter((f) => {
    const h = held.get(f.path);
    if (!h || h.size !== f.size) return true;
    return kind === 'index' && second(h.mtimeMs) !== second(f.mtimeMs);
  });
  const present = new Set(files.map((f) => f.path));
  const gone = [...held.keys()].filter((rel) => !present.has(rel));
  await copyFiles(primary.transport, root, changed, dir, mirror, hooks, sent);
  await removeFromMirror(dir, mirror, gone);
  entry.removed += gone.length;
}
