import type { RedoOp } from '../redolog';
import { itemRowFrom, select, table, type ApplyContext, type ItemRow } from './apply-context';
import { MESSAGE_COLUMN_AT } from './message-row';

/**
 * What a bulk run (bulk-apply.ts) knows of the mailbox while it applies its ops in memory: the
 * items its ops name as read at its start and as the ops left them, their tag links, the tags
 * by name, the tombstones to insert and the tags to recount. bulk-write.ts writes it out.
 */
export type Column =
  'folder_id' | 'prev_folders' | 'flags' | 'unread' | 'tag_names' | 'mod_metadata' | 'change_date';

/** An item's row as itemsOf reads it, and what the run tracks of it besides. */
export interface Item extends ItemRow {
  prevFolders: string | null;
  /** In the database when the run began; otherwise created by the run. */
  stored: boolean;
  /** A folder's row (an op may name one): never among what EmptyFolder deletes. */
  folder: boolean;
  gone: boolean;
  /** The columns the run changed, with their new values (for stored items). */
  changed: Map<Column, unknown>;
  /** A created item's INSERT row, its changeable columns filled in at the end. */
  created?: unknown[];
}

const CHUNK = 500;
/** MailItem.Type.FOLDER. */
const FOLDER_TYPE = 1;

export const chunks = <T>(list: T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, i * size + size));

export class BulkState {
  readonly items = new Map<number, Item>();
  readonly tagged = new Map<number, Set<number>>();
  readonly taggedBefore = new Map<number, Set<number>>();
  /** Ids read and not found: not read again. */
  private readonly absent = new Set<number>();
  private tagIds: Map<string, number> | null = null;
  readonly touchedTags = new Set<number>();
  readonly tombstones: unknown[][] = [];
  /** Created items' ids, in the order they were created. */
  readonly order: number[] = [];

  constructor(readonly ctx: ApplyContext) {}

  /** Reads the items and tag links the ops name that the run has not read yet. */
  async load(ops: RedoOp[]): Promise<void> {
    const ids = new Set<number>();
    const wanted = (id: number) => {
      if (!this.items.has(id) && !this.absent.has(id)) ids.add(id);
    };
    for (const op of ops)
      if (op.op === 'CreateMessage') wanted(op.msgId);
      else if ('ids' in op && Array.isArray(op.ids)) for (const id of op.ids as number[]) wanted(id);
    if (ids.size === 0) return;
    for (const id of ids) this.absent.add(id);
    for (const part of chunks([...ids])) await this.read('id IN (?)', [part]);
  }

  /**
   * Reads the items in the given folders (not folders themselves) that the run has not read:
   * those it has read are where the run's ops left them.
   */
  async loadFolders(folderIds: number[]): Promise<void> {
    await this.read('type <> 1 AND folder_id IN (?)', [folderIds]);
  }

  /** Reads the rows `where` selects that the run does not know yet, and their tag links. */
  private async read(where: string, values: unknown[]): Promise<void> {
    const { ctx } = this;
    const rows = await select(
      ctx,
      `SELECT id, type, folder_id, unread, size, flags, tag_names, mod_content, locator, prev_folders
         FROM ${table(ctx, 'mail_item')} WHERE mailbox_id = ? AND ${where}`,
      [ctx.box.mailboxId, ...values],
    );
    const added: number[] = [];
    for (const r of rows) {
      const id = Number(r.id);
      this.absent.delete(id);
      if (this.items.has(id)) continue;
      added.push(id);
      this.items.set(id, {
        ...itemRowFrom(r),
        prevFolders: r.prev_folders === null ? null : String(r.prev_folders),
        stored: true,
        folder: Number(r.type) === FOLDER_TYPE,
        gone: false,
        changed: new Map(),
      });
    }
    for (const part of chunks(added)) {
      const links = await select(
        ctx,
        `SELECT item_id, tag_id FROM ${table(ctx, 'tagged_item')} WHERE mailbox_id = ? AND item_id IN (?)`,
        [ctx.box.mailboxId, part],
      );
      for (const l of links) this.linksOf(Number(l.item_id)).add(Number(l.tag_id));
      for (const id of part) {
        const set = this.tagged.get(id);
        if (set) this.taggedBefore.set(id, new Set(set));
      }
    }
  }

  /** An id read as absent is read again when next named (a folder was created with it). */
  forget(id: number): void {
    this.absent.delete(id);
  }

  linksOf(id: number): Set<number> {
    let set = this.tagged.get(id);
    if (!set) this.tagged.set(id, (set = new Set()));
    return set;
  }

  live(id: number): Item | undefined {
    const item = this.items.get(id);
    return item && !item.gone ? item : undefined;
  }

  /** The items an op names as a SELECT at its start would return them: in the op's order, copies. */
  named(ids: number[]): Item[] {
    return ids.flatMap((id) => {
      const item = this.live(id);
      return item ? [{ ...item, tags: [...item.tags] }] : [];
    });
  }

  async tagIdsByName(names: string[]): Promise<Map<string, number>> {
    if (!this.tagIds) {
      const rows = await select(
        this.ctx,
        `SELECT id, name FROM ${table(this.ctx, 'tag')} WHERE mailbox_id = ?`,
        [this.ctx.box.mailboxId],
      );
      this.tagIds = new Map(rows.map((r) => [String(r.name), Number(r.id)]));
    }
    const found = new Map<string, number>();
    for (const n of names) if (this.tagIds.has(n)) found.set(n, this.tagIds.get(n)!);
    return found;
  }

  /** Tags are read again when next named (a tag was created). */
  forgetTags(): void {
    this.tagIds = null;
  }

  set(item: Item, column: Column, value: unknown): void {
    if (item.stored) item.changed.set(column, value);
  }

  stamp(item: Item, changeId: number, at: number): void {
    this.set(item, 'mod_metadata', changeId);
    this.set(item, 'change_date', at);
    if (item.created) {
      item.created[MESSAGE_COLUMN_AT.mod_metadata] = changeId;
      item.created[MESSAGE_COLUMN_AT.change_date] = at;
    }
  }
}
