import type { Pool, RowDataPacket } from 'mysql2/promise';
import { SimMailbox } from './mailbox';
import type { SearchIndex } from './search-index';
import { ITEM_TYPE } from './system-folders';

/**
 * Rebuilds the simulator's item cache of an existing mailbox from its rows, so that a new
 * simulator process (or `lab up` followed by activity) carries on where the last one stopped.
 */
export async function loadMailbox(
  db: Pool,
  account: { email: string; zimbraId: string },
  groupDbOf: (mailboxId: number) => string,
  openIndex: (mailboxId: number) => SearchIndex,
  blobPathOf: (mailboxId: number, itemId: number, modContent: number) => string,
): Promise<SimMailbox | undefined> {
  const [mailboxRows] = await db.query<RowDataPacket[]>(
    'SELECT id, item_id_checkpoint, change_checkpoint, size_checkpoint FROM zimbra.mailbox WHERE account_id = ?',
    [account.zimbraId],
  );
  const row = mailboxRows[0];
  if (!row) return undefined;
  const id = Number(row.id);
  const m = new SimMailbox(account.email, account.zimbraId, id, groupDbOf(id), openIndex(id));
  m.lastItemId = Number(row.item_id_checkpoint);
  m.lastChangeId = Number(row.change_checkpoint);
  m.totalSize = Number(row.size_checkpoint);
  const [items] = await db.query<RowDataPacket[]>(
    `SELECT id, type, parent_id, folder_id, name, size, unread, flags, tag_names, blob_digest, mod_content, metadata
       FROM \`${m.groupDb}\`.mail_item WHERE mailbox_id = ?`,
    [id],
  );
  for (const item of items) {
    if (Number(item.type) === ITEM_TYPE.folder) {
      const view = /2:vti(\d+)e/.exec(String(item.metadata ?? ''))?.[1];
      m.folders.set(Number(item.id), {
        id: Number(item.id),
        name: String(item.name),
        parent: Number(item.parent_id),
        view: Number(view ?? 0),
        count: Number(item.size),
        unread: Number(item.unread),
      });
    } else if (Number(item.type) === ITEM_TYPE.message) {
      m.messages.set(Number(item.id), {
        id: Number(item.id),
        folderId: Number(item.folder_id),
        flags: Number(item.flags),
        unread: Number(item.unread) > 0,
        tags: String(item.tag_names ?? '')
          .split('\0')
          .filter(Boolean),
        size: Number(item.size),
        modContent: Number(item.mod_content),
        digest: String(item.blob_digest),
        blobPath: blobPathOf(id, Number(item.id), Number(item.mod_content)),
      });
    }
  }
  const [tags] = await db.query<RowDataPacket[]>(
    `SELECT id, name, color FROM \`${m.groupDb}\`.tag WHERE mailbox_id = ?`,
    [id],
  );
  for (const t of tags)
    m.tags.set(String(t.name), { id: Number(t.id), name: String(t.name), color: Number(t.color) });
  return m;
}
