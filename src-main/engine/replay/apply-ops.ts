import type { RedoOp } from '../redolog';
import { ReplayOpError, type ApplyContext } from './apply-context';
import { createFolder, createMailbox, createTag, renameFolder } from './apply-folders';
import { alterItemTag, createMessage, deleteItem, emptyFolder, moveItem, setItemTags } from './apply-items';

export {
  flushFolderCounts,
  ReplayOpError,
  type ApplyContext,
  type MailboxCounters,
  type ReplayMailbox,
} from './apply-context';

/**
 * One committed redo op applied to a mailbox's rows and blobs, by its kind (apply-items.ts,
 * apply-folders.ts); the player also skips every op whose change id the mailbox already has.
 */
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
