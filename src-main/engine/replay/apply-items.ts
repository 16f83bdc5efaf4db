import type {
  AlterItemTagOp,
  CreateMessageOp,
  DeleteItemOp,
  EmptyFolderOp,
  MoveItemOp,
  RedoOp,
  SetItemTagsOp,
} from '../redolog';
import { blobPath } from '../server/volumes';
import {
  bumpFolder,
  exec,
  itemsOf,
  messageBody,
  namedItems,
  noteItemId,
  recountTags,
  ReplayOpError,
  select,
  setTagged,
  table,
  tagIdsByName,
  timestampOf,
  type ApplyContext,
  type ItemRow,
} from './apply-context';
import { insertMessages, messageRow } from './message-row';
import { FLAG_IDS, flagBit, tagNames, UNREAD_BIT } from './system-folders';

/**
 * The ops on messages, applied one at a time as Mailbox does when it replays (RedoableOp.redo):
 * with the op's own change id and timestamp, item ids from the op, and the message re-parsed for
 * subject, sender, recipients and fragment. Each is idempotent on its own: an item that exists
 * is not created again, one that is gone is not moved or deleted. This is the careful path;
 * bulk-apply.ts applies runs of these ops with fewer statements to the same rows.
 */

export async function createMessage(ctx: ApplyContext, op: CreateMessageOp): Promise<void> {
  const changeId = op.header.changeId;
  const raw = messageBody(ctx, op);
  const unread = op.flags & UNREAD_BIT ? 1 : 0;
  const tags = op.tags ?? [];
  const inserted = await exec(ctx, insertMessages(table(ctx, 'mail_item'), '(?)'), [
    messageRow(ctx, op, raw),
  ]).catch((error: { errno?: number }) => {
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

export async function moveItem(ctx: ApplyContext, op: MoveItemOp): Promise<void> {
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

export async function deleteItem(ctx: ApplyContext, op: DeleteItemOp): Promise<void> {
  await deleteItems(ctx, op, await namedItems(ctx, op.ids));
}

export async function emptyFolder(ctx: ApplyContext, op: EmptyFolderOp): Promise<void> {
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

export async function setItemTags(ctx: ApplyContext, op: SetItemTagsOp): Promise<void> {
  if (op.tags === null) throw new ReplayOpError('SetItemTags with a tag bitmask (redo version < 1.33)');
  for (const item of await namedItems(ctx, op.ids))
    await updateItem(ctx, op, item, {
      flags: op.flags & ~UNREAD_BIT,
      unread: op.flags & UNREAD_BIT ? 1 : 0,
      tags: op.tags,
    });
}

export async function alterItemTag(ctx: ApplyContext, op: AlterItemTagOp): Promise<void> {
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
