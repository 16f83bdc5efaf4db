import { exec, table } from './apply-context';
import { insertMessages, MESSAGE_COLUMN_AT } from './message-row';
import { chunks, type BulkState, type Column, type Item } from './bulk-state';

/**
 * Writes a bulk run's end state in a few statements: the deleted items, the new messages (one
 * multi-row INSERT), the changed columns of stored items (one UPDATE per set of columns), the
 * tag links' difference, the tombstones, and the counts of the tags touched.
 */
export async function writeBulkState(state: BulkState): Promise<void> {
  const { ctx } = state;
  const mailboxId = ctx.box.mailboxId;
  const links: { gone: number[][]; added: number[][] } = { gone: [], added: [] };
  for (const [id, set] of state.tagged) {
    const before = state.taggedBefore.get(id) ?? new Set<number>();
    for (const t of before) if (!set.has(t)) links.gone.push([id, t]);
    for (const t of set) if (!before.has(t)) links.added.push([id, t]);
  }
  const goneIds = [...state.items.values()].filter((i) => i.stored && i.gone).map((i) => i.id);
  for (const part of chunks(goneIds))
    await exec(ctx, `DELETE FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND id IN (?)`, [
      mailboxId,
      part,
    ]);
  const created = state.order.map((id) => state.items.get(id)!).filter((i) => !i.gone);
  for (const part of chunks(created))
    await exec(ctx, insertMessages(table(ctx, 'mail_item'), '?'), [
      part.map((i) =>
        Object.assign([...i.created!], {
          [MESSAGE_COLUMN_AT.folder_id]: i.folderId,
          [MESSAGE_COLUMN_AT.prev_folders]: i.prevFolders,
        }),
      ),
    ]);
  await updateStored(state);
  // Links after the items: tagged_item's foreign key to mail_item would make INSERT IGNORE drop a
  // link to a message not inserted yet (the deleted items' links went with them, ON DELETE CASCADE).
  for (const part of chunks(links.gone))
    await exec(
      ctx,
      `DELETE FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND (item_id, tag_id) IN (?)`,
      [mailboxId, part],
    );
  for (const part of chunks(links.added))
    await exec(
      ctx,
      `INSERT IGNORE INTO ${table(ctx, 'tagged_item')} (mailbox_id, item_id, tag_id) VALUES ?`,
      [part.map(([item, tag]) => [mailboxId, item, tag])],
    );
  if (state.tombstones.length > 0)
    await exec(
      ctx,
      `INSERT INTO ${table(ctx, 'tombstone')} (mailbox_id, sequence, date, type, ids) VALUES ?`,
      [state.tombstones],
    );
  // Tag.item_count follows the links, as each op's recount left it.
  if (state.touchedTags.size > 0)
    await exec(
      ctx,
      `UPDATE ${table(ctx, 'tag')} t SET item_count =
           (SELECT COUNT(*) FROM ${table(ctx, 'tagged_item')} ti WHERE ti.mailbox_id = t.mailbox_id AND ti.tag_id = t.id)
         WHERE t.mailbox_id = ? AND t.id IN (?)`,
      [mailboxId, [...state.touchedTags]],
    );
}

/** One UPDATE per set of changed columns: col = CASE id WHEN … THEN … END for each. */
async function updateStored(state: BulkState): Promise<void> {
  const { ctx } = state;
  const groups = new Map<string, Item[]>();
  for (const item of state.items.values())
    if (item.stored && !item.gone && item.changed.size > 0) {
      const key = [...item.changed.keys()].sort().join(',');
      groups.set(key, [...(groups.get(key) ?? []), item]);
    }
  for (const [key, items] of groups)
    for (const part of chunks(items)) {
      const values: unknown[] = [];
      const sets = key.split(',').map((column) => {
        for (const i of part) values.push(i.id, i.changed.get(column as Column));
        return `${column} = CASE id ${part.map(() => 'WHEN ? THEN ?').join(' ')} END`;
      });
      values.push(
        ctx.box.mailboxId,
        part.map((i) => i.id),
      );
      await exec(
        ctx,
        `UPDATE ${table(ctx, 'mail_item')} SET ${sets.join(', ')} WHERE mailbox_id = ? AND id IN (?)`,
        values,
      );
    }
}
