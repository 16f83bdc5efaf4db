import path from 'node:path';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { blobPath, mailboxDir, mailboxGroupDb, type Volume } from '../server/volumes';

/**
 * The blobs a mailbox's rows refer to, checked against what the backup holds. The backup copies
 * the store's files; a blob gone from the server (a failed disk, an administrator's `rm`) would
 * otherwise leave a session that says "completed" while a message can never be restored. Read
 * on the maintenance snapshot's connection, so rows and files are of the same instant.
 * Only current items (mail_item) are checked; older revisions (table revision) are not yet.
 */
export async function missingBlobs(
  connection: PoolConnection,
  mailboxId: number,
  mailboxGroups: number,
  volumes: Volume[],
  held: ReadonlySet<string>,
): Promise<string[]> {
  const groupDb = mailboxGroupDb(mailboxId, mailboxGroups);
  const [columns] = await connection.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'mail_item' AND COLUMN_NAME IN ('locator', 'volume_id')`,
    [groupDb],
  );
  // ZCS 8+ keeps the volume id as text in `locator`; older schemas had `volume_id`.
  const volumeColumn = columns.some((c) => c.name === 'locator') ? 'locator' : 'volume_id';
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT id, mod_content, \`${volumeColumn}\` AS volume FROM \`${groupDb}\`.mail_item
      WHERE mailbox_id = ? AND blob_digest IS NOT NULL`,
    [mailboxId],
  );
  const missing: string[] = [];
  for (const row of rows) {
    const volume = volumes.find((v) => String(v.id) === String(row.volume));
    if (!volume) {
      missing.push(`item ${row.id} (volume ${String(row.volume)} unknown)`);
      continue;
    }
    const file = blobPath(volume, mailboxId, Number(row.id), Number(row.mod_content));
    const name = `${volume.id}/${path.relative(mailboxDir(volume, mailboxId), file)}`;
    if (!held.has(name)) missing.push(file);
  }
  return missing;
}
