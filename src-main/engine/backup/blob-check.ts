import path from 'node:path';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { blobPath, mailboxDir, mailboxGroupDb, type Volume } from '../server/volumes';

/** One blob a mailbox's rows refer to: the item (and revision), its mod_content and its volume id as stored. */
export interface ReferencedBlob {
  id: number;
  modContent: number;
  /** The row's `locator` (or older `volume_id`), as text. */
  volume: string;
  /** For messages: `item 12` or `item 12 revision 3`. */
  what: string;
}

/**
 * The blobs a mailbox's rows refer to: current items (mail_item) and the older revisions of
 * documents (table revision, each with its own blob `<item>-<mod_content>.msg` on its own
 * `locator` volume); rows without a blob_digest have no blob. Used by the backup's check below
 * and by replay's sweep of blob files no row refers to (engine/replay/blob-sweep.ts).
 */
export async function referencedBlobs(
  connection: PoolConnection,
  mailboxId: number,
  mailboxGroups: number,
): Promise<ReferencedBlob[]> {
  const groupDb = mailboxGroupDb(mailboxId, mailboxGroups);
  const [columns] = await connection.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('mail_item', 'revision')
        AND COLUMN_NAME IN ('locator', 'volume_id')`,
    [groupDb],
  );
  // ZCS 8+ keeps the volume id as text in `locator`; older schemas had `volume_id`.
  const volumeColumn = (table: string): string | null => {
    const names = columns.filter((c) => c.tbl === table).map((c) => String(c.name));
    return names.includes('locator') ? 'locator' : names.includes('volume_id') ? 'volume_id' : null;
  };
  const blob = (row: RowDataPacket, what: string): ReferencedBlob => ({
    id: Number(row.id),
    modContent: Number(row.mod_content),
    volume: String(row.volume),
    what,
  });
  const [items] = await connection.query<RowDataPacket[]>(
    `SELECT id, mod_content, \`${volumeColumn('mail_item') ?? 'locator'}\` AS volume FROM \`${groupDb}\`.mail_item
      WHERE mailbox_id = ? AND blob_digest IS NOT NULL`,
    [mailboxId],
  );
  const found = items.map((row) => blob(row, `item ${row.id}`));
  // A schema without the table (or without a volume column in it) has no revisions.
  const revisionVolume = volumeColumn('revision');
  if (revisionVolume) {
    const [revisions] = await connection.query<RowDataPacket[]>(
      `SELECT item_id AS id, version, mod_content, \`${revisionVolume}\` AS volume FROM \`${groupDb}\`.revision
        WHERE mailbox_id = ? AND blob_digest IS NOT NULL`,
      [mailboxId],
    );
    found.push(...revisions.map((row) => blob(row, `item ${row.id} revision ${row.version}`)));
  }
  return found;
}

/**
 * The blobs a mailbox's rows refer to, checked against what the backup holds. The backup copies
 * the store's files; a blob gone from the server (a failed disk, an administrator's `rm`) would
 * otherwise leave a session that says "completed" while a message can never be restored. Read
 * on the maintenance snapshot's connection, so rows and files are of the same instant.
 */
export async function missingBlobs(
  connection: PoolConnection,
  mailboxId: number,
  mailboxGroups: number,
  volumes: Volume[],
  held: ReadonlySet<string>,
): Promise<string[]> {
  const missing: string[] = [];
  for (const blob of await referencedBlobs(connection, mailboxId, mailboxGroups)) {
    const volume = volumes.find((v) => String(v.id) === blob.volume);
    if (!volume) {
      missing.push(`${blob.what} (volume ${blob.volume} unknown)`);
      continue;
    }
    const file = blobPath(volume, mailboxId, blob.id, blob.modContent);
    const name = `${volume.id}/${path.relative(mailboxDir(volume, mailboxId), file)}`;
    if (!held.has(name)) missing.push(file);
  }
  return missing;
}
