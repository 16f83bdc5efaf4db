import type { PoolConnection } from 'mysql2/promise';
import { folderMetadata } from '../../engine/replay/metadata';
import { insertSystemFolders, systemFolderRows } from '../../engine/replay/system-folders';
import { encodeMetadata, METADATA_VERSION } from './metadata';
import type { SearchIndex } from './search-index';
import { FIRST_USER_ID, ITEM_TYPE, SYSTEM_FOLDERS } from './system-folders';

/** What the simulated mailboxd knows of one mailbox (its item cache), kept in step with the rows. */
export interface SimFolder {
  id: number;
  name: string;
  parent: number;
  view: number;
  /** Items in the folder (mail_item.size of a folder row), and of those unread. */
  count: number;
  unread: number;
}

export interface SimMessage {
  id: number;
  folderId: number;
  flags: number;
  unread: boolean;
  tags: string[];
  size: number;
  modContent: number;
  digest: string;
  blobPath: string;
}

export interface SimTag {
  id: number;
  name: string;
  color: number;
}

export class SimMailbox {
  folders = new Map<number, SimFolder>();
  tags = new Map<string, SimTag>();
  messages = new Map<number, SimMessage>();
  lastItemId = FIRST_USER_ID - 1;
  lastChangeId = 0;
  totalSize = 0;
  /** The last committed op: its CommitTxn time and change id (tests restore to this instant). */
  lastCommit: { ms: number; changeId: number } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly email: string,
    readonly accountId: string,
    readonly mailboxId: number,
    readonly groupDb: string,
    readonly index: SearchIndex,
  ) {}

  nextItemId(): number {
    return ++this.lastItemId;
  }

  nextChangeId(): number {
    return ++this.lastChangeId;
  }

  /** Runs `work` after every earlier operation on this mailbox (mailboxd's mailbox lock). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  userFolders(): SimFolder[] {
    return [...this.folders.values()].filter((f) => f.id >= FIRST_USER_ID);
  }
}

const table = (m: SimMailbox, name: string) => `\`${m.groupDb}\`.\`${name}\``;

/** tag_names as ZCS 8+ stores them: names between NUL separators. */
export const tagNames = (tags: string[]) => (tags.length ? `\0${tags.join('\0')}\0` : null);

/** The rows Mailbox.create writes: the mailbox row, its metadata section, the system folders. */
export async function insertNewMailbox(
  c: PoolConnection,
  m: SimMailbox,
  groups: number,
  indexVolumeId: number,
  at: number,
): Promise<void> {
  const changeId = m.nextChangeId();
  await c.query(
    `INSERT INTO zimbra.mailbox (id, group_id, account_id, index_volume_id, item_id_checkpoint, contact_count,
       size_checkpoint, change_checkpoint, tracking_sync, tracking_imap, last_backup_at, comment, last_soap_access,
       new_messages, idx_deferred_count, highest_indexed, version, last_purge_at, itemcache_checkpoint)
     VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, 0, NULL, ?, 0, 0, 0, NULL, '2.8', 0, 0)`,
    [
      m.mailboxId,
      ((m.mailboxId - 1) % groups) + 1,
      m.accountId,
      indexVolumeId,
      m.lastItemId,
      changeId,
      m.email,
    ],
  );
  await c.query('INSERT INTO zimbra.mailbox_metadata (mailbox_id, section, metadata) VALUES (?, ?, ?)', [
    m.mailboxId,
    'config',
    encodeMetadata({ v: METADATA_VERSION, created: at }),
  ]);
  await c.query(insertSystemFolders(table(m, 'mail_item')), [systemFolderRows(m.mailboxId, at, changeId)]);
  for (const f of SYSTEM_FOLDERS) m.folders.set(f.id, { ...f, count: 0, unread: 0 });
}

export interface NewMessageRow {
  message: SimMessage;
  /** The received date (unix seconds): mail_item.date of a message. */
  date: number;
  /** When the change happened (the op's timestamp, unix seconds): change_date. */
  changeDate: number;
  /** The message volume's id (mail_item.locator). */
  locator: string;
  sender: string;
  recipients: string;
  /** The normalized subject (subject column); the raw one goes in metadata ("s") when it differs. */
  subject: string;
  rawSubject: string;
  fragment: string;
  changeId: number;
}

/** Message metadata as Message.encodeMetadata writes it for a plain delivered message. */
export function messageMetadata(r: Pick<NewMessageRow, 'fragment' | 'subject' | 'rawSubject'>): string {
  return encodeMetadata({
    v: METADATA_VERSION,
    ...(r.fragment ? { f: r.fragment } : {}),
    ...(r.rawSubject !== r.subject ? { s: r.rawSubject } : {}),
  });
}

export async function insertMessages(c: PoolConnection, m: SimMailbox, rows: NewMessageRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((r) => [
    m.mailboxId,
    r.message.id,
    ITEM_TYPE.message,
    null,
    r.message.folderId,
    r.message.id,
    r.message.id,
    r.date,
    r.message.size,
    r.locator,
    r.message.digest,
    r.message.unread ? 1 : 0,
    r.message.flags,
    0,
    tagNames(r.message.tags),
    r.sender.slice(0, 128),
    r.recipients.slice(0, 128),
    r.subject,
    null,
    messageMetadata(r),
    r.changeId,
    r.changeDate,
    r.message.modContent,
  ]);
  await c.query(
    `INSERT INTO ${table(m, 'mail_item')} (mailbox_id, id, type, parent_id, folder_id, index_id, imap_id, date, size,
       locator, blob_digest, unread, flags, tags, tag_names, sender, recipients, subject, name, metadata, mod_metadata,
       change_date, mod_content) VALUES ?`,
    [values],
  );
}

/** Writes the folder counters and the mailbox checkpoints that an operation changed. */
export async function saveCounters(
  c: PoolConnection,
  m: SimMailbox,
  folderIds: Iterable<number>,
): Promise<void> {
  for (const id of new Set(folderIds)) {
    const f = m.folders.get(id);
    if (f)
      await c.query(
        `UPDATE ${table(m, 'mail_item')} SET size = ?, unread = ? WHERE mailbox_id = ? AND id = ?`,
        [f.count, f.unread, m.mailboxId, id],
      );
  }
  await c.query(
    'UPDATE zimbra.mailbox SET item_id_checkpoint = ?, change_checkpoint = ?, size_checkpoint = ? WHERE id = ?',
    [m.lastItemId, m.lastChangeId, m.totalSize, m.mailboxId],
  );
}

export async function insertFolder(
  c: PoolConnection,
  m: SimMailbox,
  f: SimFolder,
  changeId: number,
  uuid: string,
  at: number,
): Promise<void> {
  await c.query(
    `INSERT INTO ${table(m, 'mail_item')} (mailbox_id, id, type, parent_id, folder_id, date, size, unread, flags, name,
       metadata, mod_metadata, change_date, mod_content, uuid) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?)`,
    [
      m.mailboxId,
      f.id,
      ITEM_TYPE.folder,
      f.parent,
      f.parent,
      at,
      f.name,
      folderMetadata(f.view),
      changeId,
      at,
      changeId,
      uuid,
    ],
  );
}

export async function renameFolder(
  c: PoolConnection,
  m: SimMailbox,
  f: SimFolder,
  changeId: number,
  at: number,
): Promise<void> {
  await c.query(
    `UPDATE ${table(m, 'mail_item')} SET name = ?, mod_metadata = ?, change_date = ? WHERE mailbox_id = ? AND id = ?`,
    [f.name, changeId, at, m.mailboxId, f.id],
  );
}

export async function moveMessages(
  c: PoolConnection,
  m: SimMailbox,
  ids: number[],
  from: Map<number, number>,
  to: number,
  changeId: number,
  at: number,
): Promise<void> {
  for (const id of ids)
    await c.query(
      `UPDATE ${table(m, 'mail_item')} SET folder_id = ?, prev_folders = CONCAT_WS(';', prev_folders, ?), mod_metadata = ?, change_date = ?
        WHERE mailbox_id = ? AND id = ?`,
      [to, `${changeId}:${from.get(id)}`, changeId, at, m.mailboxId, id],
    );
}

export async function updateFlags(
  c: PoolConnection,
  m: SimMailbox,
  msg: SimMessage,
  changeId: number,
  at: number,
): Promise<void> {
  await c.query(
    `UPDATE ${table(m, 'mail_item')} SET flags = ?, unread = ?, tag_names = ?, mod_metadata = ?, change_date = ? WHERE mailbox_id = ? AND id = ?`,
    [msg.flags, msg.unread ? 1 : 0, tagNames(msg.tags), changeId, at, m.mailboxId, msg.id],
  );
}

export async function insertTag(
  c: PoolConnection,
  m: SimMailbox,
  tag: SimTag,
  changeId: number,
): Promise<void> {
  await c.query(
    `INSERT INTO ${table(m, 'tag')} (mailbox_id, id, name, color, item_count, unread, listed, sequence) VALUES (?, ?, ?, ?, 0, 0, 1, ?)`,
    [m.mailboxId, tag.id, tag.name, tag.color, changeId],
  );
}

/** Tag.item_count: how many items carry the tag (Zimbra keeps it as items are tagged and deleted). */
export async function saveTagCount(c: PoolConnection, m: SimMailbox, tag: SimTag): Promise<void> {
  const count = [...m.messages.values()].filter((x) => x.tags.includes(tag.name)).length;
  await c.query(`UPDATE ${table(m, 'tag')} SET item_count = ? WHERE mailbox_id = ? AND id = ?`, [
    count,
    m.mailboxId,
    tag.id,
  ]);
}

export async function setTagged(
  c: PoolConnection,
  m: SimMailbox,
  tag: SimTag,
  itemId: number,
  tagged: boolean,
): Promise<void> {
  if (tagged)
    await c.query(
      `INSERT IGNORE INTO ${table(m, 'tagged_item')} (mailbox_id, tag_id, item_id) VALUES (?, ?, ?)`,
      [m.mailboxId, tag.id, itemId],
    );
  else
    await c.query(
      `DELETE FROM ${table(m, 'tagged_item')} WHERE mailbox_id = ? AND tag_id = ? AND item_id = ?`,
      [m.mailboxId, tag.id, itemId],
    );
  await saveTagCount(c, m, tag);
}

/** Hard delete (dumpster off, Zimbra's default): rows go, a tombstone records the ids for sync. */
export async function deleteMessages(
  c: PoolConnection,
  m: SimMailbox,
  ids: number[],
  changeId: number,
  at: number,
): Promise<void> {
  if (ids.length === 0) return;
  await c.query(`DELETE FROM ${table(m, 'tagged_item')} WHERE mailbox_id = ? AND item_id IN (?)`, [
    m.mailboxId,
    ids,
  ]);
  await c.query(`DELETE FROM ${table(m, 'mail_item')} WHERE mailbox_id = ? AND id IN (?)`, [
    m.mailboxId,
    ids,
  ]);
  await c.query(
    `INSERT INTO ${table(m, 'tombstone')} (mailbox_id, sequence, date, type, ids) VALUES (?, ?, ?, ?, ?)`,
    [m.mailboxId, changeId, at, ITEM_TYPE.message, ids.join(',')],
  );
}
