import type { RowDataPacket } from 'mysql2/promise';
import type { ServerAccess } from '../server/server-access';
import { VOLUME_TYPE, volumeFromRow } from '../server/volumes';
import type { SnapshotEntry } from './record';
import type { StandbyDir } from './standby-dir';
import { copyFiles, isSafeRelPath, removeFromMirror, type Sent, type TransferHooks } from './transfer';

/**
 * The blobs and index snapshots by copy: each volume of the kind (zimbra.volume) is listed on
 * the primary and compared with its mirror on the standby. Blobs are write-once (a new revision
 * is a new file), so a blob whose name and size the mirror has is not sent again; index files
 * are rewritten, so one is sent when its size or modification second differs. Files gone from
 * the primary go from the mirror. This is not a point-in-time image: files change while the
 * listing is copied, which replay from the set's mysql time makes good for blobs (it rewrites
 * the blobs of replayed ops) and a reindex for the index (docs/standby.md).
 */
export async function snapshotVolumeFiles(
  primary: ServerAccess,
  dir: StandbyDir,
  entry: SnapshotEntry,
  kind: 'blobs' | 'index',
  hooks: TransferHooks,
): Promise<void> {
  const [rows] = await primary.db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const wanted =
    kind === 'blobs' ? [VOLUME_TYPE.primaryMessage, VOLUME_TYPE.secondaryMessage] : [VOLUME_TYPE.index];
  const volumes = rows.map(volumeFromRow).filter((v) => (wanted as number[]).includes(v.type));
  entry.volumes = volumes.map((v) => ({ id: v.id, type: v.type, path: v.path }));
  entry.takenAt = Date.now();
  const sent: Sent = { bytes: 0, files: 0 };
  try {
    for (const volume of volumes) {
      const mirror = `${kind}/${volume.id}`;
      // mailboxd stages multi-recipient deliveries in <store>/incoming: not mailbox data.
      const files = (await primary.transport.walk(volume.path)).filter(
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
      await copyFiles(primary.transport, volume.path, changed, dir, mirror, hooks, sent);
      await removeFromMirror(dir, mirror, gone);
      entry.removed += gone.length;
    }
  } finally {
    entry.files += sent.files;
    entry.bytes += sent.bytes;
  }
}
