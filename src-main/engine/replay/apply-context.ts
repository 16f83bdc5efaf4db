import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { CreateMessageOp, RedoOp } from '../redolog';
import { blobDigest } from '../server/blob-digest';
import type { Volume } from '../server/volumes';
import { parseTagNames } from './system-folders';

/**
 * What applying an op works with: the mailbox, its checkpoints kept in memory while a run of its
 * ops is applied, the volumes, the files to write and remove, and the folder count changes; and
 * the statements the op appliers (apply-items.ts, apply-folders.ts) share.
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

export const table = (ctx: ApplyContext, name: string) => `\`${ctx.box.groupDb}\`.\`${name}\``;

export async function exec(ctx: ApplyContext, sql: string, values: unknown[]): Promise<ResultSetHeader> {
  const [result] = await ctx.c.query<ResultSetHeader>(sql, values);
  return result;
}

export async function select(ctx: ApplyContext, sql: string, values: unknown[]): Promise<RowDataPacket[]> {
  const [rows] = await ctx.c.query<RowDataPacket[]>(sql, values);
  return rows;
}

/** Folder counts change in memory; flushFolderCounts writes them once per batch. */
export async function bumpFolder(
  ctx: ApplyContext,
  folderId: number,
  count: number,
  unread: number,
): Promise<void> {
  if (count === 0 && unread === 0) return;
  const delta = ctx.folderDeltas.get(folderId) ?? { count: 0, unread: 0 };
  delta.count += count;
  delta.unread += unread;
  ctx.folderDeltas.set(folderId, delta);
}

export async function flushFolderCounts(ctx: ApplyContext): Promise<void> {
  const changed = [...ctx.folderDeltas].filter(([, d]) => d.count !== 0 || d.unread !== 0);
  ctx.folderDeltas.clear();
  if (changed.length === 0) return;
  // One statement for every folder the batch changed.
  const when = changed.map(() => 'WHEN ? THEN ?').join(' ');
  await exec(
    ctx,
    `UPDATE ${table(ctx, 'mail_item')} SET size = size + CASE id ${when} END, unread = unread + CASE id ${when} END
      WHERE mailbox_id = ? AND id IN (?)`,
    [
      ...changed.flatMap(([id, d]) => [id, d.count]),
      ...changed.flatMap(([id, d]) => [id, d.unread]),
      ctx.box.mailboxId,
      changed.map(([id]) => id),
    ],
  );
}

export const timestampOf = (op: RedoOp) => Math.floor(op.header.timestamp / 1000);

export function noteItemId(ctx: ApplyContext, id: number): void {
  if (id > ctx.counters.itemCheckpoint) ctx.counters.itemCheckpoint = id;
}

export async function tagIdsByName(ctx: ApplyContext, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await select(
    ctx,
    `SELECT id, name FROM ${table(ctx, 'tag')} WHERE mailbox_id = ? AND name IN (?)`,
    [ctx.box.mailboxId, names],
  );
  return new Map(rows.map((r) => [String(r.name), Number(r.id)]));
}

/** Tag.item_count follows the items that carry the tag. */
export async function recountTags(ctx: ApplyContext, tagIds: Iterable<number>): Promise<void> {
  for (const id of new Set(tagIds))
    await exec(
      ctx,
      `UPDATE ${table(ctx, 'tag')} SET item_count =
         (SELECT COUNT(*) FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND tag_id = ?)
       WHERE mailbox_id = ? AND id = ?`,
      [ctx.box.mailboxId, id, ctx.box.mailboxId, id],
    );
}

export async function setTagged(
  ctx: ApplyContext,
  itemId: number,
  add: number[],
  remove: number[],
): Promise<void> {
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

export function messageBody(ctx: ApplyContext, op: CreateMessageOp): Buffer {
  const data = loggedBody(ctx, op);
  // On the main thread, in one call: SHA-256 runs at over 1 GB/s with the CPU's SHA extensions.
  // WebCrypto's digest in libuv's pool cost the main thread more than that (it copies each body
  // first, and each comes back through the pool, queued behind blob writes, and a promise): for
  // the bench's 4,000 bodies (89 MiB), 80-110 ms of main thread and 160-220 ms of CPU in all,
  // against 60-70 ms for both here. The quick path has the blob thread check it instead, where
  // it writes the bytes (bulk-apply.ts).
  if (blobDigest(data) !== op.digest)
    throw new ReplayOpError(`message ${op.msgId}: the logged body does not match digest ${op.digest}`);
  return data;
}

/** A CreateMessage's body as logged (inline or linked), its digest not checked yet. */
export function loggedBody(ctx: ApplyContext, op: CreateMessageOp): Buffer {
  let data: Buffer | undefined;
  if (op.body.kind === 'inline') data = op.body.data;
  else if (op.body.kind === 'link' && op.path) data = ctx.incomingBlob(op.path);
  if (!data)
    throw new ReplayOpError(
      op.body.kind === 'external'
        ? `message ${op.msgId}: its blob is in an external redo blob store, which replay cannot read`
        : `message ${op.msgId}: the blob it links to (${op.path}) was not logged in the logs replayed`,
    );
  return data;
}

export interface ItemRow {
  id: number;
  folderId: number;
  unread: number;
  size: number;
  flags: number;
  tags: string[];
  modContent: number;
  locator: string | null;
}

export async function itemsOf(ctx: ApplyContext, where: string, values: unknown[]): Promise<ItemRow[]> {
  const rows = await select(
    ctx,
    `SELECT id, type, folder_id, unread, size, flags, tag_names, mod_content, locator
       FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND ${where} ORDER BY id`,
    [ctx.box.mailboxId, ...values],
  );
  return rows.map(itemRowFrom);
}

/** An item from a mail_item row selected with (at least) id, folder_id, unread, size, flags, tag_names, mod_content, locator. */
export function itemRowFrom(r: RowDataPacket): ItemRow {
  return {
    id: Number(r.id),
    folderId: Number(r.folder_id),
    unread: Number(r.unread),
    size: Number(r.size),
    flags: Number(r.flags),
    tags: parseTagNames(r.tag_names),
    modContent: Number(r.mod_content),
    locator: r.locator === null ? null : String(r.locator),
  };
}

/** Items named by an op, in the op's order, leaving out those that are gone. */
export async function namedItems(ctx: ApplyContext, ids: number[]): Promise<ItemRow[]> {
  if (ids.length === 0) return [];
  const found = new Map((await itemsOf(ctx, 'id IN (?)', [ids])).map((r) => [r.id, r]));
  return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
}
