import path from 'node:path';
import type { Pool } from 'mysql2/promise';
import { referencedBlobs } from '../backup/blob-check';
import { blobPath, mailboxDir, type Volume } from '../server/volumes';
import type { ServerFiles } from './server-files';

/**
 * Removes a replayed mailbox's blob files that no row refers to, once its ops are all applied.
 *
 * Replay writes blobs before their rows commit and removes deleted items' blobs after the
 * commit, as Zimbra does. A run killed between a committed delete and its unlink leaves the
 * blob behind, and the rerun skips the delete (its change id is at the checkpoint), so nothing
 * would ever remove it; a blob written for a run that was rolled back and then applied
 * differently (the careful retry leaving a failing op out, a stop on error) is left the same way.
 * Comparing the files with the rows at the end covers every such window, whatever the kill
 * point, and the rerun does it again: replay stays idempotent without a journal of unlinks.
 *
 * Only what replay could have left is touched: files named like a mailbox blob
 * (`<id>-<mod_content>.msg`), under the `msg` folder of a mailbox this replay applied ops to,
 * on the volumes its rows name plus the volume replay writes new messages to. Referenced means
 * a current item's blob or an older revision's (engine/backup/blob-check.ts derives both).
 * mailboxd is stopped while replay runs (playredo-guard.ts, restore's maintenance), so no
 * blob is in flight.
 */
const BLOB_NAME = /^\d+-\d+\.msg$/;

export interface BlobSweepOptions {
  db: Pool;
  files: ServerFiles;
  volumes: Volume[];
  messageVolume: Volume;
  mailboxGroups: number;
}

/** The files removed, full paths. */
export async function sweepOrphanBlobs(options: BlobSweepOptions, mailboxId: number): Promise<string[]> {
  const connection = await options.db.getConnection();
  let referenced;
  try {
    referenced = await referencedBlobs(connection, mailboxId, options.mailboxGroups);
  } finally {
    connection.release();
  }
  const volumes = new Map<number, Volume>([[options.messageVolume.id, options.messageVolume]]);
  const keep = new Set<string>();
  for (const blob of referenced) {
    const volume = options.volumes.find((v) => String(v.id) === blob.volume);
    // A row on a volume this server does not know: its files are nowhere we look.
    if (!volume) continue;
    volumes.set(volume.id, volume);
    keep.add(blobPath(volume, mailboxId, blob.id, blob.modContent));
  }
  const orphans: string[] = [];
  for (const volume of volumes.values())
    for (const file of await options.files.listFiles(path.join(mailboxDir(volume, mailboxId), 'msg')))
      if (BLOB_NAME.test(path.basename(file)) && !keep.has(file)) orphans.push(file);
  if (orphans.length > 0) await options.files.removeFiles(orphans);
  return orphans;
}
