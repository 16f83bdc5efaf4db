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
import { createFolder, createTag, renameFolder } from './apply-folders';
import {
  bumpFolder,
  loggedBody,
  messageBody,
  noteItemId,
  ReplayOpError,
  select,
  table,
  timestampOf,
} from './apply-context';
import type { ApplyContext } from './apply-context';
import type { QueuedWrite } from './blob-writes';
import { BulkState, type Item } from './bulk-state';
import { writeBulkState } from './bulk-write';
import { MESSAGE_COLUMN_AT, messageRow } from './message-row';
import { FLAG_IDS, flagBit, parseTagNames, tagNames, UNREAD_BIT } from './system-folders';

/**
 * A run of message ops (deliveries, moves, flags, tags, deletes, emptied folders) of one mailbox applied with a
 * handful of statements instead of several per op (the folder and tag creations and renames
 * among them applied in place, so that they do not cut the run): the items the run names are read once, every
 * op is applied in memory exactly as apply-items.ts applies it to the rows (each op sees the
 * items as the ops before it left them, with the same snapshot rules), and the end state is
 * written at once: one multi-row INSERT of the new messages, one UPDATE per set of changed
 * columns, one DELETE of the deleted items, the tag links' difference, the tombstones and the
 * tag counts. The rows after the run are the rows the careful path (one op at a time) gives; any
 * op it cannot apply throws, and the caller applies the whole batch again, carefully.
 */
export const BULK_OPS = new Set([
  'CreateMessage',
  'MoveItem',
  'DeleteItem',
  'SetItemTags',
  'AlterItemTag',
  'EmptyFolder',
  // Applied at once, in their place in the run: they change folder and tag rows, which the
  // message ops' rows only refer to (a folder a message goes to exists before the run's INSERT).
  'CreateFolder',
  'RenameFolder',
  'CreateTag',
]);

export class BulkRun {
  readonly s: BulkState;
  /**
   * The blob writes of the messages the run created, started as each is created (they go on while
   * the ops after it are applied); one not begun yet is dropped when the run deletes its message.
   */
  private readonly blobs = new Map<number, QueuedWrite>();

  constructor(
    private readonly ctx: ApplyContext,
    private readonly write: (path: string, data: Buffer, digest?: string) => QueuedWrite,
  ) {
    this.s = new BulkState(ctx);
  }

  /** Writes the run's rows (its blobs are written or being written already). */
  async flush(): Promise<void> {
    this.blobs.clear();
    await writeBulkState(this.s);
  }

  /** Applies one op in memory; false when it would create an item the run deleted (the run ends before it). */
  async apply(op: RedoOp): Promise<boolean> {
    switch (op.op) {
      case 'CreateMessage':
        return this.createMessage(op);
      case 'MoveItem':
        this.moveItem(op);
        return true;
      case 'DeleteItem':
        this.deleteItems(op, op.ids);
        return true;
      case 'EmptyFolder':
        await this.emptyFolder(op);
        return true;
      case 'SetItemTags':
        if (op.tags === null) throw new ReplayOpError('SetItemTags with a tag bitmask (redo version < 1.33)');
        for (const item of this.s.named(op.ids))
          await this.updateItem(op, item, {
            flags: op.flags & ~UNREAD_BIT,
            unread: op.flags & UNREAD_BIT ? 1 : 0,
            tags: op.tags,
          });
        return true;
      case 'AlterItemTag':
        await this.alterItemTag(op);
        return true;
      case 'CreateFolder':
        await createFolder(this.ctx, op);
        // Ops after it may name it: read when next named, as it now is.
        this.s.forget(op.folderId);
        return true;
      case 'RenameFolder':
        await renameFolder(this.ctx, op);
        return true;
      case 'CreateTag':
        await createTag(this.ctx, op);
        // Ops after it may name the new tag.
        this.s.forgetTags();
        return true;
      default:
        throw new ReplayOpError(`${op.op} is not applied in bulk`);
    }
  }

  private async createMessage(op: CreateMessageOp): Promise<boolean> {
    const { ctx } = this;
    const existing = this.s.items.get(op.msgId);
    if (existing?.gone) return false;
    if (existing) {
      // Its effect is present; its body is checked all the same, as the careful path does.
      messageBody(ctx, op);
      return true;
    }
    // Checked by the blob writer where the bytes are written (the blob thread: off the main
    // thread); a mismatch fails the write, and the run is applied again carefully, which reports
    // the op as before.
    const raw = loggedBody(ctx, op);
    const changeId = op.header.changeId;
    const unread = op.flags & UNREAD_BIT ? 1 : 0;
    const tags = op.tags ?? [];
    const item: Item = {
      id: op.msgId,
      folderId: op.folderId,
      unread,
      size: op.size,
      flags: op.flags & ~UNREAD_BIT,
      tags: parseTagNames(tagNames(tags)),
      modContent: changeId,
      locator: String(ctx.messageVolume.id),
      prevFolders: null,
      stored: false,
      folder: false,
      gone: false,
      changed: new Map(),
      // Its changeable columns (folder, flags, tags, prev_folders, change stamps) follow the item.
      created: messageRow(ctx, op, raw),
    };
    this.s.items.set(op.msgId, item);
    this.s.order.push(op.msgId);
    await bumpFolder(ctx, op.folderId, 1, unread);
    if (tags.length > 0) {
      const ids = await this.s.tagIdsByName(tags);
      for (const tagId of ids.values()) {
        this.s.linksOf(op.msgId).add(tagId);
        this.s.touchedTags.add(tagId);
      }
    }
    ctx.counters.size += op.size;
    noteItemId(ctx, op.msgId);
    this.blobs.set(
      op.msgId,
      this.write(blobPath(ctx.messageVolume, ctx.box.mailboxId, op.msgId, changeId), raw, op.digest),
    );
    return true;
  }

  private moveItem(op: MoveItemOp): void {
    const at = timestampOf(op);
    const changeId = op.header.changeId;
    for (const snap of this.s.named(op.ids)) {
      if (snap.folderId === op.targetFolderId) continue;
      const item = this.s.items.get(snap.id)!;
      const entry = `${changeId}:${snap.folderId}`;
      item.folderId = op.targetFolderId;
      item.prevFolders = item.prevFolders === null ? entry : `${item.prevFolders};${entry}`;
      this.s.set(item, 'folder_id', item.folderId);
      this.s.set(item, 'prev_folders', item.prevFolders);
      this.s.stamp(item, changeId, at);
      void bumpFolder(this.ctx, snap.folderId, -1, -snap.unread);
      void bumpFolder(this.ctx, op.targetFolderId, 1, snap.unread);
    }
  }

  /**
   * apply-items.ts emptyFolder on the run's items: every item but folders in the folder and, when
   * asked, in the folders under it (as their rows say now: the run creates and renames folders in
   * place), in id order, as the rows are read there.
   */
  private async emptyFolder(op: EmptyFolderOp): Promise<void> {
    const { ctx } = this;
    const folders = [op.folderId];
    if (op.subfolders)
      for (let i = 0; i < folders.length; i++) {
        const children = await select(
          ctx,
          `SELECT id FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND type = 1 AND parent_id = ? AND id <> parent_id`,
          [ctx.box.mailboxId, folders[i]],
        );
        // A folder the run deleted is still a row until the run is written.
        for (const r of children) if (!this.s.items.get(Number(r.id))?.gone) folders.push(Number(r.id));
      }
    await this.s.loadFolders(folders);
    const inside = new Set(folders);
    const ids: number[] = [];
    for (const item of this.s.items.values())
      if (!item.gone && !item.folder && inside.has(item.folderId)) ids.push(item.id);
    this.deleteItems(
      op,
      ids.sort((a, b) => a - b),
    );
  }

  private deleteItems(op: DeleteItemOp | EmptyFolderOp, ids: number[]): void {
    const { ctx } = this;
    const items = this.s.named(ids);
    if (items.length === 0) return;
    for (const snap of items) {
      for (const tagId of this.s.tagged.get(snap.id) ?? []) this.s.touchedTags.add(tagId);
      this.s.tagged.get(snap.id)?.clear();
      this.s.items.get(snap.id)!.gone = true;
    }
    this.s.tombstones.push([
      ctx.box.mailboxId,
      op.header.changeId,
      timestampOf(op),
      5,
      items.map((i) => i.id).join(','),
    ]);
    const byFolder = new Map<number, { count: number; unread: number }>();
    for (const item of items) {
      const f = byFolder.get(item.folderId) ?? { count: 0, unread: 0 };
      f.count++;
      f.unread += item.unread;
      byFolder.set(item.folderId, f);
      ctx.counters.size -= item.size;
      // A message the run created whose file is not being written yet: there is nothing to remove.
      if (this.blobs.get(item.id)?.drop()) continue;
      const volume = ctx.volumes.find((v) => String(v.id) === item.locator) ?? ctx.messageVolume;
      ctx.removals.push(blobPath(volume, ctx.box.mailboxId, item.id, item.modContent));
    }
    for (const [folderId, f] of byFolder) void bumpFolder(ctx, folderId, -f.count, -f.unread);
  }

  private async alterItemTag(op: AlterItemTagOp): Promise<void> {
    if (op.tag === null) throw new ReplayOpError('AlterItemTag with a tag id (redo version < 1.33)');
    const flagId = FLAG_IDS[op.tag];
    for (const item of this.s.named(op.ids)) {
      const next = { flags: item.flags, unread: item.unread, tags: item.tags };
      if (flagId === -10) next.unread = op.tagged ? 1 : 0;
      else if (flagId !== undefined)
        next.flags = op.tagged ? item.flags | flagBit(flagId) : item.flags & ~flagBit(flagId);
      else if (op.tagged && !item.tags.includes(op.tag)) next.tags = [...item.tags, op.tag];
      else if (!op.tagged) next.tags = item.tags.filter((t) => t !== op.tag);
      await this.updateItem(op, item, next);
    }
  }

  private async updateItem(
    op: SetItemTagsOp | AlterItemTagOp,
    snap: Item,
    next: { flags: number; unread: number; tags: string[] },
  ): Promise<void> {
    const item = this.s.items.get(snap.id)!;
    const text = tagNames(next.tags);
    item.flags = next.flags;
    item.unread = next.unread;
    item.tags = parseTagNames(text);
    this.s.set(item, 'flags', next.flags);
    this.s.set(item, 'unread', next.unread);
    this.s.set(item, 'tag_names', text);
    if (item.created) {
      item.created[MESSAGE_COLUMN_AT.unread] = next.unread;
      item.created[MESSAGE_COLUMN_AT.flags] = next.flags;
      item.created[MESSAGE_COLUMN_AT.tag_names] = text;
    }
    this.s.stamp(item, op.header.changeId, timestampOf(op));
    if (next.unread !== snap.unread) void bumpFolder(this.ctx, snap.folderId, 0, next.unread - snap.unread);
    const added = next.tags.filter((t) => !snap.tags.includes(t));
    const removed = snap.tags.filter((t) => !next.tags.includes(t));
    if (added.length + removed.length === 0) return;
    const ids = await this.s.tagIdsByName([...added, ...removed]);
    for (const n of added) if (ids.has(n)) this.s.linksOf(snap.id).add(ids.get(n)!);
    for (const n of removed) if (ids.has(n)) this.s.linksOf(snap.id).delete(ids.get(n)!);
    for (const id of ids.values()) this.s.touchedTags.add(id);
  }
}

/**
 * Applies ops (all in BULK_OPS, all to be applied) in order, going on with an open run (the ops
 * of a transaction come a queue's worth at a time): the items they name that the run does not
 * know yet are read first. When an op creates an item an earlier op of the run deleted, the
 * run's rows are written and a new run goes on from that op. Returns the run left open.
 */
export async function applyBulk(
  ctx: ApplyContext,
  open: BulkRun | null,
  ops: RedoOp[],
  write: (path: string, data: Buffer, digest?: string) => QueuedWrite,
): Promise<BulkRun> {
  let run = open ?? new BulkRun(ctx, write);
  await run.s.load(ops);
  for (let i = 0; i < ops.length; i++) {
    if (await run.apply(ops[i]!)) continue;
    await run.flush();
    run = new BulkRun(ctx, write);
    await run.s.load(ops.slice(i));
    // cannot happen: a fresh run has nothing gone
    if (!(await run.apply(ops[i]!))) throw new ReplayOpError('bulk run made no progress');
  }
  return run;
}
