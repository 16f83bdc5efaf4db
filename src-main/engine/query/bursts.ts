import type { CommittedOp } from '../plan/committed-ops';
import { TRASH, type MailboxModel, type OpEffect } from '../plan/mailbox-model';

/**
 * Destructive bursts in a mailbox's committed ops: the moments an administrator is asked to undo
 * ("I emptied the wrong folder", "a client deleted everything").
 *
 * A destructive op is a DeleteItem, an EmptyFolder, or a MoveItem into Trash (folder 3). Such
 * ops are grouped while each comes within `gapMs` (default 60 s) of the previous one. A group is
 * a burst when it holds an EmptyFolder that removed at least one message (or whose effect is
 * unknown, with no full backup to count from), or when its ops removed or trashed at least
 * `minItems` (default 10) items in all. The instant to restore to is 1 ms before the first op
 * of the burst began (the op's own time, before its commit).
 */
export interface BurstOptions {
  gapMs?: number;
  minItems?: number;
}

export interface BurstOp {
  kind: 'DeleteItem' | 'EmptyFolder' | 'MoveItem to Trash';
  atMs: number;
  commitMs: number;
  /** Items the op removed or trashed; null when unknown (EmptyFolder with no model). */
  items: number | null;
  /** Folders the items came from (or the folder emptied), with counts when known. */
  folders: Array<{ folder: string; items: number | null }>;
}

export interface Burst {
  startMs: number;
  endMs: number;
  restoreToMs: number;
  items: number | null;
  ops: BurstOp[];
  /** One line: what happened. */
  summary: string;
}

export class BurstDetector {
  private group: BurstOp[] = [];
  readonly bursts: Burst[] = [];
  private readonly gapMs: number;
  private readonly minItems: number;

  constructor(options: BurstOptions = {}) {
    this.gapMs = options.gapMs ?? 60_000;
    this.minItems = options.minItems ?? 10;
  }

  /**
   * Looks at a committed op, with its effect on the model when there is one (call before or
   * after applying; the effect is what counts). Ops outside the window are passed with inWindow
   * false: they close a group but never start one.
   */
  see(c: CommittedOp, effect: OpEffect | null, model: MailboxModel | null, inWindow = true): void {
    const destructive = describe(c, effect, model);
    if (!destructive) return;
    const last = this.group.at(-1);
    if (last && destructive.atMs - last.commitMs > this.gapMs) this.close();
    if (inWindow) this.group.push(destructive);
  }

  /** Closes the last group; call once the ops are all seen. */
  finish(): Burst[] {
    this.close();
    return this.bursts;
  }

  private close(): void {
    const ops = this.group;
    this.group = [];
    if (ops.length === 0) return;
    const known = ops.every((o) => o.items !== null);
    const items = known ? ops.reduce((n, o) => n + o.items!, 0) : null;
    const emptied = ops.some((o) => o.kind === 'EmptyFolder' && (o.items === null || o.items > 0));
    if (!emptied && (items ?? 0) < this.minItems) return;
    const startMs = Math.min(...ops.map((o) => o.atMs));
    this.bursts.push({
      startMs,
      endMs: Math.max(...ops.map((o) => o.commitMs)),
      restoreToMs: startMs - 1,
      items,
      ops,
      summary: summarize(ops),
    });
  }
}

function describe(c: CommittedOp, effect: OpEffect | null, model: MailboxModel | null): BurstOp | null {
  const { op } = c;
  const name = (id: number) => (model ? model.folderLabel(id) : `folder ${id}`);
  const from = (fallback: number | null): BurstOp['folders'] =>
    effect && effect.fromFolders.size > 0
      ? [...effect.fromFolders].map(([id, n]) => ({ folder: name(id), items: n }))
      : fallback === null
        ? []
        : [{ folder: name(fallback), items: null }];
  const base = { atMs: op.header.timestamp, commitMs: c.commitMs };
  if (op.op === 'EmptyFolder')
    return {
      ...base,
      kind: 'EmptyFolder',
      items: effect ? effect.removed : null,
      folders: [{ folder: name(op.folderId), items: effect ? effect.removed : null }],
    };
  if (op.op === 'DeleteItem')
    return {
      ...base,
      kind: 'DeleteItem',
      items: effect ? effect.removed + effect.foldersRemoved : op.ids.length,
      folders: from(null),
    };
  if (op.op === 'MoveItem' && op.targetFolderId === TRASH)
    return {
      ...base,
      kind: 'MoveItem to Trash',
      items: effect ? effect.moved : op.ids.length,
      folders: from(null),
    };
  return null;
}

function summarize(ops: BurstOp[]): string {
  const parts: string[] = [];
  const byKind = new Map<string, BurstOp[]>();
  for (const o of ops) byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o]);
  for (const [kind, list] of byKind) {
    const n = list.every((o) => o.items !== null) ? list.reduce((s, o) => s + o.items!, 0) : null;
    const folders = new Map<string, number | null>();
    for (const o of list)
      for (const f of o.folders) {
        const had = folders.get(f.folder);
        folders.set(
          f.folder,
          had === undefined ? f.items : had === null || f.items === null ? null : had + f.items,
        );
      }
    const where = [...folders].map(([f, k]) => (k === null ? f : `${f} (${k})`)).join(', ');
    const count = n === null ? 'an unknown number of items' : `${n} item(s)`;
    const times = list.length > 1 ? ` in ${list.length} ops` : '';
    parts.push(`${kind}: ${count}${times}${where ? ` from ${where}` : ''}`);
  }
  return parts.join('; ');
}
