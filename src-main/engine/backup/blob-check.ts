import path from 'node:path';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { blobPath, mailboxDir, mailboxGroupDb, type Volume } from '../server/volumes';

/**
 * The blobs a mailbox's rows refer to, checked against what the backup holds. The backup copies
 * the store's files; a blob gone from the server (a failed disk, an administrator's `rm`) would
 * otherwise leave a session that says "completed" while a message can never be restored. Read
 * on the maintenance snapshot's connection, so rows and files are of the same instant.
 * Checked: current items (mail_item) and the older revisions of documents (table revision,
 * each with its own blob `<item>-<mod_content>.msg` on its own `locator` volume).
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
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('mail_item', 'revision')
        AND COLUMN_NAME IN ('locator', 'volume_id')`,
    [groupDb],
  );
  const missing: string[] = [];
  const check = (rows: RowDataPacket[], what: (row: RowDataPacket) => string): void => {
    for (const row of rows) {
      const volume = volumes.find((v) => String(v.id) === String(row.volume));
      if (!volume) {
        missing.push(`${what(row)} (volume ${String(row.volume)} unknown)`);
        continue;
      }
      const file = blobPath(volume, mailboxId, Number(row.id), Number(row.mod_content));
      const name = `${volume.id}/${path.relative(mailboxDir(volume, mailboxId), file)}`;
      if (!held.has(name)) missing.push(file);
    }
  };
  // ZCS 8+ keeps the volume id as text in `locator`; older schemas had `volume_id`.
  const volumeColumn = (table: string): string | null => {
    const names = columns.filter((c) => c.tbl === table).map((c) => String(c.name));
    return names.includes('locator') ? 'locator' : names.includes('volume_id') ? 'volume_id' : null;
  };
  const [items] = await connection.query<RowDataPacket[]>(
    `SELECT id, mod_content, \`${volumeColumn('mail_item') ?? 'locator'}\` AS volume FROM \`${groupDb}\`.mail_item
      WHERE mailbox_id = ? AND blob_digest IS NOT NULL`,
    [mailboxId],
  );
  check(items, (row) => `item ${row.id}`);
  // A schema without the table (or without a volume column in it) has no revisions to check.
  const revisionVolume = volumeColumn('revision');
  if (revisionVolume) {
    const [revisions] = await connection.query<RowDataPacket[]>(
      `SELECT item_id AS id, version, mod_content, \`${revisionVolume}\` AS volume FROM \`${groupDb}\`.revision
        WHERE mailbox_id = ? AND blob_digest IS NOT NULL`,
      [mailboxId],
    );
    check(revisions, (row) => `item ${row.id} revision ${row.version}`);
  }
  return missing;
}
