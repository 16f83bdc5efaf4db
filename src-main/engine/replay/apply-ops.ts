import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type {
  AlterItemTagOp,
  CreateFolderOp,
  CreateMailboxOp,
  CreateMessageOp,
  CreateTagOp,
  DeleteItemOp,
  EmptyFolderOp,
  MoveItemOp,
  RedoOp,
  RenameFolderOp,
  SetItemTagsOp,
} from '../redolog';
import { blobDigest } from '../server/blob-digest';
import { blobPath, type Volume } from '../server/volumes';
import { encodeMetadata, folderMetadata, METADATA_VERSION } from './metadata';
import { parseMessage } from './parsed-message';
import { FLAG_IDS, flagBit, parseTagNames, SYSTEM_FOLDERS, tagNames, UNREAD_BIT } from './system-folders';

/**
 * Applies one committed redo op to a mailbox's rows and blobs the way Mailbox does when it
 * replays (RedoableOp.redo): with the op's own change id and timestamp, item ids from the op,
 * and the message re-parsed for subject, sender, recipients and fragment. Each apply is
 * idempotent on its own (an item that exists is not created again, one that is gone is not
 * deleted again); the player also skips every op whose change id the mailbox already has.
 */
export interface ReplayMailbox {
  /** The mailbox id in the redo log. */
  sourceId: number;
  /** Where its ops are applied (another id when restoring into a new account). */
  mailboxId: number;
  groupDb: string;
  accountId: string;
  email: string;
}

/** The mailbox row's checkpoints, kept while a batch runs and written with it. */
export interface MailboxCounters {
  changeCheckpoint: number;
  itemCheckpoint: number;
  size: number;
}

export interface ApplyContext {
  c: PoolConnection;
  box: ReplayMailbox;
  counters: MailboxCounters;
  messageVolume: Volume;
  volumes: Volume[];
  /** The body of a blob a StoreIncomingBlob logged, by the path CreateMessage links to. */
  incomingBlob(path: string): Buffer | undefined;
  /** Blob files to write once the op's rows are in, and to remove once the batch commits. */
  writes: Array<{ path: string; data: Buffer }>;
  removals: string[];
  /** Folder size/unread changes of the batch so far, written by flushFolderCounts. */
  folderDeltas: Map<number, { count: number; unread: number }>;
  /** Resolves a new mailbox's account (CreateMailbox): its email for zimbra.mailbox.comment. */
  accountEmail?(accountId: string): Promise<string | undefined>;
  mailboxGroups: number;
  indexVolumeId: number;
}

export class ReplayOpError extends Error {}

const table = (ctx: ApplyContext, name: string) => `\`${ctx.box.groupDb}\`.\`${name}\``;

async function exec(ctx: ApplyContext, sql: string, values: unknown[]): Promise<ResultSetHeader> {
  const [result] = await ctx.c.query<ResultSetHeader>(sql, values);
  return result;
}

async function select(ctx: ApplyContext, sql: string, values: unknown[]): Promise<RowDataPacket[]> {
  const [rows] = await ctx.c.query<RowDataPacket[]>(sql, values);
  return rows;
}

/** Folder counts change in memory; flushFolderCounts writes them once per batch. */
async function bumpFolder(ctx: ApplyContext, folderId: number, count: number, unread: number): Promise<void> {
  if (count === 0 && unread === 0) return;
  const delta = ctx.folderDeltas.get(folderId) ?? { count: 0, unread: 0 };
  delta.count += count;
  delta.unread += unread;
  ctx.folderDeltas.set(folderId, delta);
}

export async function flushFolderCounts(ctx: ApplyContext): Promise<void> {
  for (const [folderId, d] of ctx.folderDeltas)
    if (d.count !== 0 || d.unread !== 0)
      await exec(
        ctx,
        `UPDATE ${table(ctx, 'mail_item')} SET size = size + ?, unread = unread + ? WHERE mailbox_id = ? AND id = ?`,
        [d.count, d.unread, ctx.box.mailboxId, folderId],
      );
  ctx.folderDeltas.clear();
}

const timestampOf = (op: RedoOp) => Math.floor(op.header.timestamp / 1000);

function noteItemId(ctx: ApplyContext, id: number): void {
  if (id > ctx.counters.itemCheckpoint) ctx.counters.itemCheckpoint = id;
}

async function tagIdsByName(ctx: ApplyContext, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await select(
    ctx,
    `SELECT id, name FROM ${table(ctx, 'tag')} WHERE mailbox_id = ? AND name IN (?)`,
    [ctx.box.mailboxId, names],
  );
  return new Map(rows.map((r) => [String(r.name), Number(r.id)]));
}

/** Tag.item_count follows the items that carry the tag. */
async function recountTags(ctx: ApplyContext, tagIds: Iterable<number>): Promise<void> {
  for (const id of new Set(tagIds))
    await exec(
      ctx,
      `UPDATE ${table(ctx, 'tag')} SET item_count =
         (SELECT COUNT(*) FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND tag_id = ?)
       WHERE mailbox_id = ? AND id = ?`,
      [ctx.box.mailboxId, id, ctx.box.mailboxId, id],
    );
}

async function setTagged(ctx: ApplyContext, itemId: number, add: number[], remove: number[]): Promise<void> {
  for (const tagId of add)
    await exec(
      ctx,
      `INSERT IGNORE INTO ${table(ctx, 'tagged_item')} (mailbox_id, tag_id, item_id) VALUES (?, ?, ?)`,
      [ctx.box.mailboxId, tagId, itemId],
    );
  if (remove.length > 0)
    await exec(
      ctx,
      `DELETE FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND item_id = ? AND tag_id IN (?)`,
      [ctx.box.mailboxId, itemId, remove],
    );
}

function messageBody(ctx: ApplyContext, op: CreateMessageOp): Buffer {
  let data: Buffer | undefined;
  if (op.body.kind === 'inline') data = op.body.data;
  else if (op.body.kind === 'link' && op.path) data = ctx.incomingBlob(op.path);
  if (!data)
    throw new ReplayOpError(
      op.body.kind === 'external'
        ? `message ${op.msgId}: its blob is in an external redo blob store, which replay cannot read`
        : `message ${op.msgId}: the blob it links to (${op.path}) was not logged in the logs replayed`,
    );
  if (blobDigest(data) !== op.digest)
    throw new ReplayOpError(`message ${op.msgId}: the logged body does not match digest ${op.digest}`);
  return data;
}

async function createMessage(ctx: ApplyContext, op: CreateMessageOp): Promise<void> {
  const at = timestampOf(op);
  const changeId = op.header.changeId;
  const raw = messageBody(ctx, op);
  const parsed = parseMessage(raw);
  const unread = op.flags & UNREAD_BIT ? 1 : 0;
  const tags = op.tags ?? [];
  const metadata = encodeMetadata({
    v: METADATA_VERSION,
    ...(parsed.fragment ? { f: parsed.fragment } : {}),
    ...(parsed.rawSubject !== parsed.subject ? { s: parsed.rawSubject } : {}),
  });
  const inserted = await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'mail_item')} (mailbox_id, id, type, parent_id, folder_id, index_id, imap_id, date, size,
       locator, blob_digest, unread, flags, tags, tag_names, sender, recipients, subject, name, metadata, mod_metadata,
       change_date, mod_content)
     VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
    [
      ctx.box.mailboxId,
      op.msgId,
      5,
      op.folderId,
      op.msgId,
      op.msgId,
      Math.floor(op.receivedDate / 1000),
      op.size,
      String(ctx.messageVolume.id),
      op.digest,
      unread,
      op.flags & ~UNREAD_BIT,
      tagNames(tags),
      parsed.sender,
      parsed.recipients,
      parsed.subject,
      metadata,
      changeId,
      at,
      changeId,
    ],
  ).catch((error: { errno?: number }) => {
    // The item is there already: its effect is present (a failed statement leaves the transaction as it was).
    if (error.errno === 1062) return null;
    throw error;
  });
  if (!inserted) return;
  await bumpFolder(ctx, op.folderId, 1, unread);
  if (tags.length > 0) {
    const ids = await tagIdsByName(ctx, tags);
    await setTagged(ctx, op.msgId, [...ids.values()], []);
    await recountTags(ctx, ids.values());
  }
  ctx.counters.size += op.size;
  noteItemId(ctx, op.msgId);
  ctx.writes.push({ path: blobPath(ctx.messageVolume, ctx.box.mailboxId, op.msgId, changeId), data: raw });
}

interface ItemRow {
  id: number;
  folderId: number;
  unread: number;
  size: number;
  flags: number;
  tags: string[];
  modContent: number;
  locator: string | null;
}

async function itemsOf(ctx: ApplyContext, where: string, values: unknown[]): Promise<ItemRow[]> {
  const rows = await select(
    ctx,
    `SELECT id, type, folder_id, unread, size, flags, tag_names, mod_content, locator
       FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND ${where} ORDER BY id`,
    [ctx.box.mailboxId, ...values],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    folderId: Number(r.folder_id),
    unread: Number(r.unread),
    size: Number(r.size),
    flags: Number(r.flags),
    tags: parseTagNames(r.tag_names),
    modContent: Number(r.mod_content),
    locator: r.locator === null ? null : String(r.locator),
  }));
}

/** Items named by an op, in the op's order, leaving out those that are gone. */
async function namedItems(ctx: ApplyContext, ids: number[]): Promise<ItemRow[]> {
  if (ids.length === 0) return [];
  const found = new Map((await itemsOf(ctx, 'id IN (?)', [ids])).map((r) => [r.id, r]));
  return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
}

async function moveItem(ctx: ApplyContext, op: MoveItemOp): Promise<void> {
  const at = timestampOf(op);
  const changeId = op.header.changeId;
  for (const item of await namedItems(ctx, op.ids)) {
    if (item.folderId === op.targetFolderId) continue;
    await exec(
      ctx,
      `UPDATE ${table(ctx, 'mail_item')} SET folder_id = ?, prev_folders = CONCAT_WS(';', prev_folders, ?),
         mod_metadata = ?, change_date = ? WHERE mailbox_id = ? AND id = ?`,
      [op.targetFolderId, `${changeId}:${item.folderId}`, changeId, at, ctx.box.mailboxId, item.id],
    );
    await bumpFolder(ctx, item.folderId, -1, -item.unread);
    await bumpFolder(ctx, op.targetFolderId, 1, item.unread);
  }
}

/** Hard delete (dumpster off): rows and tag links go, a tombstone keeps the ids, blobs go after commit. */
async function deleteItems(ctx: ApplyContext, op: RedoOp, items: ItemRow[]): Promise<void> {
  if (items.length === 0) return;
  const ids = items.map((i) => i.id);
  const tagged = await select(
    ctx,
    `SELECT DISTINCT tag_id FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND item_id IN (?)`,
    [ctx.box.mailboxId, ids],
  );
  await exec(ctx, `DELETE FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND item_id IN (?)`, [
    ctx.box.mailboxId,
    ids,
  ]);
  await exec(ctx, `DELETE FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND id IN (?)`, [
    ctx.box.mailboxId,
    ids,
  ]);
  await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'tombstone')} (mailbox_id, sequence, date, type, ids) VALUES (?, ?, ?, ?, ?)`,
    [ctx.box.mailboxId, op.header.changeId, timestampOf(op), 5, ids.join(',')],
  );
  await recountTags(
    ctx,
    tagged.map((t) => Number(t.tag_id)),
  );
  const byFolder = new Map<number, { count: number; unread: number }>();
  for (const item of items) {
    const f = byFolder.get(item.folderId) ?? { count: 0, unread: 0 };
    f.count++;
    f.unread += item.unread;
    byFolder.set(item.folderId, f);
    ctx.counters.size -= item.size;
    const volume = ctx.volumes.find((v) => String(v.id) === item.locator) ?? ctx.messageVolume;
    ctx.removals.push(blobPath(volume, ctx.box.mailboxId, item.id, item.modContent));
  }
  for (const [folderId, f] of byFolder) await bumpFolder(ctx, folderId, -f.count, -f.unread);
}

async function deleteItem(ctx: ApplyContext, op: DeleteItemOp): Promise<void> {
  await deleteItems(ctx, op, await namedItems(ctx, op.ids));
}

async function emptyFolder(ctx: ApplyContext, op: EmptyFolderOp): Promise<void> {
  const folders = [op.folderId];
  if (op.subfolders) {
    for (let i = 0; i < folders.length; i++) {
      const children = await select(
        ctx,
        `SELECT id FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND type = 1 AND parent_id = ? AND id <> parent_id`,
        [ctx.box.mailboxId, folders[i]],
      );
      folders.push(...children.map((r) => Number(r.id)));
    }
  }
  await deleteItems(ctx, op, await itemsOf(ctx, 'type <> 1 AND folder_id IN (?)', [folders]));
}

async function createFolder(ctx: ApplyContext, op: CreateFolderOp): Promise<void> {
  const at = timestampOf(op);
  const changeId = op.header.changeId;
  await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'mail_item')} (mailbox_id, id, type, parent_id, folder_id, date, size, unread, flags, name,
       metadata, mod_metadata, change_date, mod_content, uuid) VALUES (?, ?, 1, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE id = id`,
    [
      ctx.box.mailboxId,
      op.folderId,
      op.parentId,
      op.parentId,
      op.date === null ? at : Math.floor(op.date / 1000),
      op.flags,
      op.name,
      folderMetadata(op.defaultView),
      changeId,
      at,
      changeId,
      op.uuid,
    ],
  );
  noteItemId(ctx, op.folderId);
}

async function renameFolder(ctx: ApplyContext, op: RenameFolderOp): Promise<void> {
  await exec(
    ctx,
    `UPDATE ${table(ctx, 'mail_item')} SET name = ?, parent_id = ?, folder_id = ?, mod_metadata = ?, change_date = ?
      WHERE mailbox_id = ? AND id = ? AND type = 1`,
    [op.name, op.parentId, op.parentId, op.header.changeId, timestampOf(op), ctx.box.mailboxId, op.folderId],
  );
}

async function createTag(ctx: ApplyContext, op: CreateTagOp): Promise<void> {
  await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'tag')} (mailbox_id, id, name, color, item_count, unread, listed, sequence)
     VALUES (?, ?, ?, ?, 0, 0, 1, ?) ON DUPLICATE KEY UPDATE id = id`,
    [ctx.box.mailboxId, op.tagId, op.name, op.color, op.header.changeId],
  );
}

async function updateItem(
  ctx: ApplyContext,
  op: RedoOp,
  item: ItemRow,
  next: { flags: number; unread: number; tags: string[] },
): Promise<void> {
  await exec(
    ctx,
    `UPDATE ${table(ctx, 'mail_item')} SET flags = ?, unread = ?, tag_names = ?, mod_metadata = ?, change_date = ?
      WHERE mailbox_id = ? AND id = ?`,
    [
      next.flags,
      next.unread,
      tagNames(next.tags),
      op.header.changeId,
      timestampOf(op),
      ctx.box.mailboxId,
      item.id,
    ],
  );
  if (next.unread !== item.unread) await bumpFolder(ctx, item.folderId, 0, next.unread - item.unread);
  const added = next.tags.filter((t) => !item.tags.includes(t));
  const removed = item.tags.filter((t) => !next.tags.includes(t));
  if (added.length + removed.length === 0) return;
  const ids = await tagIdsByName(ctx, [...added, ...removed]);
  const idsOf = (names: string[]) => names.flatMap((n) => (ids.has(n) ? [ids.get(n)!] : []));
  await setTagged(ctx, item.id, idsOf(added), idsOf(removed));
  await recountTags(ctx, ids.values());
}

async function setItemTags(ctx: ApplyContext, op: SetItemTagsOp): Promise<void> {
  if (op.tags === null) throw new ReplayOpError('SetItemTags with a tag bitmask (redo version < 1.33)');
  for (const item of await namedItems(ctx, op.ids))
    await updateItem(ctx, op, item, {
      flags: op.flags & ~UNREAD_BIT,
      unread: op.flags & UNREAD_BIT ? 1 : 0,
      tags: op.tags,
    });
}

async function alterItemTag(ctx: ApplyContext, op: AlterItemTagOp): Promise<void> {
  if (op.tag === null) throw new ReplayOpError('AlterItemTag with a tag id (redo version < 1.33)');
  const flagId = FLAG_IDS[op.tag];
  for (const item of await namedItems(ctx, op.ids)) {
    const next = { flags: item.flags, unread: item.unread, tags: item.tags };
    if (flagId === -10) next.unread = op.tagged ? 1 : 0;
    else if (flagId !== undefined)
      next.flags = op.tagged ? item.flags | flagBit(flagId) : item.flags & ~flagBit(flagId);
    else if (op.tagged && !item.tags.includes(op.tag)) next.tags = [...item.tags, op.tag];
    else if (!op.tagged) next.tags = item.tags.filter((t) => t !== op.tag);
    await updateItem(ctx, op, item, next);
  }
}

/** Mailbox.create: the mailbox row, its config metadata and the system folders. */
async function createMailbox(ctx: ApplyContext, op: CreateMailboxOp): Promise<void> {
  const at = timestampOf(op);
  const { mailboxId } = ctx.box;
  const exists = await select(ctx, 'SELECT id FROM zimbra.mailbox WHERE id = ?', [mailboxId]);
  if (exists.length > 0) return;
  const accountId = op.accountId ?? ctx.box.accountId;
  const email = (await ctx.accountEmail?.(accountId)) ?? ctx.box.email;
  const changeId = op.header.changeId;
  await exec(
    ctx,
    `INSERT INTO zimbra.mailbox (id, group_id, account_id, index_volume_id, item_id_checkpoint, contact_count,
       size_checkpoint, change_checkpoint, tracking_sync, tracking_imap, last_backup_at, comment, last_soap_access,
       new_messages, idx_deferred_count, highest_indexed, version, last_purge_at, itemcache_checkpoint)
     VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, 0, NULL, ?, 0, 0, 0, NULL, '2.8', 0, 0)`,
    [
      mailboxId,
      ((mailboxId - 1) % ctx.mailboxGroups) + 1,
      accountId,
      ctx.indexVolumeId,
      255,
      changeId,
      email,
    ],
  );
  await exec(ctx, 'INSERT INTO zimbra.mailbox_metadata (mailbox_id, section, metadata) VALUES (?, ?, ?)', [
    mailboxId,
    'config',
    encodeMetadata({ v: METADATA_VERSION, created: at }),
  ]);
  await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'mail_item')} (mailbox_id, id, type, parent_id, folder_id, date, size, unread, flags, name,
       metadata, mod_metadata, change_date, mod_content) VALUES ?`,
    [
      SYSTEM_FOLDERS.map((f) => [
        mailboxId,
        f.id,
        1,
        f.parent,
        f.parent,
        at,
        0,
        0,
        0,
        f.name,
        folderMetadata(f.view),
        changeId,
        at,
        changeId,
      ]),
    ],
  );
  ctx.counters.itemCheckpoint = Math.max(ctx.counters.itemCheckpoint, 255);
}

/** The ops replay applies; others are reported as unknown and left out. */
export const APPLIED_OPS = new Set([
  'CreateMailbox',
  'CreateMessage',
  'MoveItem',
  'DeleteItem',
  'EmptyFolder',
  'CreateFolder',
  'RenameFolder',
  'CreateTag',
  'SetItemTags',
  'AlterItemTag',
]);

export const DELETE_OPS = new Set(['DeleteItem', 'EmptyFolder']);

export async function applyOp(ctx: ApplyContext, op: RedoOp): Promise<void> {
  switch (op.op) {
    case 'CreateMailbox':
      return createMailbox(ctx, op);
    case 'CreateMessage':
      return createMessage(ctx, op);
    case 'MoveItem':
      return moveItem(ctx, op);
    case 'DeleteItem':
      return deleteItem(ctx, op);
    case 'EmptyFolder':
      return emptyFolder(ctx, op);
    case 'CreateFolder':
      return createFolder(ctx, op);
    case 'RenameFolder':
      return renameFolder(ctx, op);
    case 'CreateTag':
      return createTag(ctx, op);
    case 'SetItemTags':
      return setItemTags(ctx, op);
    case 'AlterItemTag':
      return alterItemTag(ctx, op);
    default:
      throw new ReplayOpError(`${op.op} is not an op replay applies`);
  }
}
