import type { CreateFolderOp, CreateMailboxOp, CreateTagOp, RenameFolderOp } from '../redolog';
import { exec, noteItemId, select, table, timestampOf, type ApplyContext } from './apply-context';
import { encodeMetadata, folderMetadata, METADATA_VERSION } from './metadata';
import { insertSystemFolders, systemFolderRows } from './system-folders';

/** Folders, tags and the mailbox itself, applied as Mailbox does when it replays. */

export async function createFolder(ctx: ApplyContext, op: CreateFolderOp): Promise<void> {
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

export async function renameFolder(ctx: ApplyContext, op: RenameFolderOp): Promise<void> {
  await exec(
    ctx,
    `UPDATE ${table(ctx, 'mail_item')} SET name = ?, parent_id = ?, folder_id = ?, mod_metadata = ?, change_date = ?
      WHERE mailbox_id = ? AND id = ? AND type = 1`,
    [op.name, op.parentId, op.parentId, op.header.changeId, timestampOf(op), ctx.box.mailboxId, op.folderId],
  );
}

export async function createTag(ctx: ApplyContext, op: CreateTagOp): Promise<void> {
  await exec(
    ctx,
    `INSERT INTO ${table(ctx, 'tag')} (mailbox_id, id, name, color, item_count, unread, listed, sequence)
     VALUES (?, ?, ?, ?, 0, 0, 1, ?) ON DUPLICATE KEY UPDATE id = id`,
    [ctx.box.mailboxId, op.tagId, op.name, op.color, op.header.changeId],
  );
}

/** Mailbox.create: the mailbox row, its config metadata and the system folders. */
export async function createMailbox(ctx: ApplyContext, op: CreateMailboxOp): Promise<void> {
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
  await exec(ctx, insertSystemFolders(table(ctx, 'mail_item')), [systemFolderRows(mailboxId, at, changeId)]);
  ctx.counters.itemCheckpoint = Math.max(ctx.counters.itemCheckpoint, 255);
}
