import { ITEM_TYPE, type RedoOp } from '../redolog';
import { readDumpRows } from './sql-rows';

/**
 * What a mailbox looks like, as far as planning needs: its folders and which folder each message
 * is in. Loaded from a full backup's mailbox.sql (mail_item rows: folders type 1, messages type 5,
 * with their folder_id), then moved forward by replaying committed redo ops in order.
 */
export const USER_ROOT = 1;
export const TRASH = 3;

export interface ModelFolder {
  id: number;
  name: string;
  parentId: number;
}

/** What one op did to the model: messages it removed or moved, by the folder they were in. */
export interface OpEffect {
  removed: number;
  moved: number;
  /** Folder id → messages removed or moved out of it. */
  fromFolders: Map<number, number>;
  /** Folders the op deleted (DeleteItem of folders, EmptyFolder with subfolders). */
  foldersRemoved: number;
}

const noEffect = (): OpEffect => ({ removed: 0, moved: 0, fromFolders: new Map(), foldersRemoved: 0 });

export class MailboxModel {
  readonly folders = new Map<number, ModelFolder>();
  /** Message id → folder id. */
  readonly messages = new Map<number, number>();
  /** The highest change id the dump shows: ops up to it are already in the full. */
  lastChangeId = 0;

  /** The mailbox as a full backup's mailbox.sql holds it. */
  static async fromDump(file: string): Promise<MailboxModel> {
    const model = new MailboxModel();
    const tables = new Set(['mail_item', 'tombstone', 'tag']);
    const num = (v: string | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
    for await (const { table, row } of readDumpRows(file, tables)) {
      if (table === 'mail_item') {
        const type = num(row.type);
        const id = num(row.id);
        if (type === ITEM_TYPE.folder)
          model.folders.set(id, {
            id,
            name: row.name ?? `#${id}`,
            parentId: num(row.parent_id ?? row.folder_id),
          });
        else if (type === ITEM_TYPE.message) model.messages.set(id, num(row.folder_id));
        model.bump(num(row.mod_metadata), num(row.mod_content));
      } else model.bump(num(row.sequence));
    }
    return model;
  }

  private bump(...changeIds: number[]): void {
    for (const c of changeIds) if (c > this.lastChangeId) this.lastChangeId = c;
  }

  /** `/Inbox/Projects`; folders outside the user's tree (Tags, Conversations…) have no path. */
  folderPath(id: number): string | null {
    const names: string[] = [];
    let at = this.folders.get(id);
    for (let depth = 0; at && depth < 256; depth++) {
      if (at.id === USER_ROOT) return `/${names.reverse().join('/')}`;
      names.push(at.name);
      at = this.folders.get(at.parentId);
    }
    return null;
  }

  /** The name to show for a folder, even one the model does not know. */
  folderLabel(id: number): string {
    return this.folderPath(id) ?? `folder ${id}`;
  }

  /** Folders of the user's tree with the messages directly in each, by path. */
  messageCounts(): Array<{ id: number; path: string; messages: number }> {
    const counts = new Map<number, number>();
    for (const folderId of this.messages.values()) counts.set(folderId, (counts.get(folderId) ?? 0) + 1);
    const out: Array<{ id: number; path: string; messages: number }> = [];
    for (const f of this.folders.values()) {
      const p = f.id === USER_ROOT ? null : this.folderPath(f.id);
      if (p) out.push({ id: f.id, path: p, messages: counts.get(f.id) ?? 0 });
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  private descendants(id: number): number[] {
    const out = [id];
    for (let k = 0; k < out.length; k++)
      for (const f of this.folders.values()) if (f.parentId === out[k] && f.id !== out[k]) out.push(f.id);
    return out;
  }

  private removeMessagesIn(folderIds: number[], effect: OpEffect): void {
    const set = new Set(folderIds);
    for (const [msg, folder] of this.messages)
      if (set.has(folder)) {
        this.messages.delete(msg);
        effect.removed++;
        effect.fromFolders.set(folder, (effect.fromFolders.get(folder) ?? 0) + 1);
      }
  }

  /** Applies one committed op (Zimbra's replay of it) and says what it did. */
  apply(op: RedoOp): OpEffect {
    const effect = noEffect();
    switch (op.op) {
      case 'CreateMessage':
        this.messages.set(op.msgId, op.folderId);
        break;
      case 'CreateFolder':
        this.folders.set(op.folderId, { id: op.folderId, name: op.name, parentId: op.parentId });
        break;
      case 'RenameFolder': {
        const f = this.folders.get(op.folderId);
        if (f) this.folders.set(f.id, { ...f, name: op.name, parentId: op.parentId });
        break;
      }
      case 'DeleteItem':
        for (const id of op.ids) {
          const folder = this.messages.get(id);
          if (folder !== undefined && op.itemType !== ITEM_TYPE.folder) {
            this.messages.delete(id);
            effect.removed++;
            effect.fromFolders.set(folder, (effect.fromFolders.get(folder) ?? 0) + 1);
          } else if (this.folders.has(id) && op.itemType !== ITEM_TYPE.message) {
            const gone = this.descendants(id);
            this.removeMessagesIn(gone, effect);
            for (const f of gone) this.folders.delete(f);
            effect.foldersRemoved += gone.length;
          }
        }
        break;
      case 'MoveItem':
        for (const id of op.ids) {
          const folder = this.messages.get(id);
          if (folder !== undefined && op.itemType !== ITEM_TYPE.folder) {
            this.messages.set(id, op.targetFolderId);
            effect.moved++;
            effect.fromFolders.set(folder, (effect.fromFolders.get(folder) ?? 0) + 1);
          } else {
            const f = this.folders.get(id);
            if (f && op.itemType !== ITEM_TYPE.message)
              this.folders.set(id, { ...f, parentId: op.targetFolderId });
          }
        }
        break;
      case 'EmptyFolder': {
        // Mailbox.emptyFolder: the folder's items, and with removeSubfolders its subfolders too.
        const subfolders = op.subfolders ? this.descendants(op.folderId).slice(1) : [];
        this.removeMessagesIn([op.folderId, ...subfolders], effect);
        for (const f of subfolders) this.folders.delete(f);
        effect.foldersRemoved = subfolders.length;
        break;
      }
      default:
        break;
    }
    return effect;
  }
}
