import type { RedoDataReader } from './data-io';
import { RedoFormatError } from './file-header';
import {
  versionAtLeast,
  type CreateFolderOp,
  type CreateMessageOp,
  type CustomMetadata,
  type MessageBody,
  type RedoOp,
  type RedoRecordHeader,
  type TransactionId,
} from './ops';

/**
 * The data section of each op this codec understands, as the op classes in Zimbra's
 * store/src/java/com/zimbra/cs/redolog/op/ read it: every version test of their deserializeData is
 * kept, so logs from older releases decode too. The encoder mirrors the decoder at the record's
 * version (Zimbra itself only ever writes the current one).
 */

const BODY_INLINE = 1;
const BODY_LINK = 2;
const BODY_EXTERNAL = 3;

export const DECODED_OPS = new Set([
  'Checkpoint',
  'CommitTxn',
  'AbortTxn',
  'CreateMailbox',
  'DeleteMailbox',
  'CreateTag',
  'EmptyFolder',
  'RenameFolder',
  'CreateFolder',
  'CreateMessage',
  'StoreIncomingBlob',
  'MoveItem',
  'DeleteItem',
  'SetItemTags',
  'AlterItemTag',
]);

const at = (h: RedoRecordHeader, major: number, minor: number) => versionAtLeast(h.version, major, minor);

function readTxn(r: RedoDataReader): TransactionId {
  return { time: r.int(), counter: r.int() };
}

function readCustom(r: RedoDataReader): CustomMetadata | null {
  const section = r.utf();
  return section === null ? null : { section, value: r.utf() };
}

/** MoveItem, DeleteItem, SetItemTags and AlterItemTag lead with a legacy single id (-1 now). */
function readIds(r: RedoDataReader, single: number): number[] {
  return single > 0 ? [single] : r.intList();
}

function readConstraint(r: RedoDataReader): string | null {
  return r.bool() ? r.utf() : null;
}

/** Decodes the data section; a trailing body's bytes (CreateMessage inline, StoreIncomingBlob) are left to the caller. */
export function decodeBody(name: string, header: RedoRecordHeader, r: RedoDataReader): RedoOp {
  const h = header;
  switch (name) {
    case 'Checkpoint': {
      const count = r.int();
      if (count < 0 || count > 1_000_000) throw new RedoFormatError(`bad checkpoint count ${count}`);
      const activeTxns = Array.from({ length: count }, () => readTxn(r));
      return { op: 'Checkpoint', header: h, activeTxns };
    }
    case 'CommitTxn':
    case 'AbortTxn':
      return { op: name, header: h, txnOpCode: r.int() };
    case 'CreateMailbox':
      return { op: 'CreateMailbox', header: h, accountId: r.utf() };
    case 'DeleteMailbox':
      return { op: 'DeleteMailbox', header: h };
    case 'CreateTag':
      return {
        op: 'CreateTag',
        header: h,
        tagId: r.int(),
        name: r.text(),
        color: at(h, 1, 27) ? r.long() : r.byte(),
      };
    case 'EmptyFolder':
      return { op: 'EmptyFolder', header: h, folderId: r.int(), subfolders: r.bool() };
    case 'RenameFolder':
      return { op: 'RenameFolder', header: h, folderId: r.int(), parentId: r.int(), name: r.text() };
    case 'CreateFolder':
      return decodeCreateFolder(h, r);
    case 'CreateMessage':
      return decodeCreateMessage(h, r);
    case 'StoreIncomingBlob': {
      const count = r.int();
      if (count > 1_000_000) throw new RedoFormatError(`bad mailbox list length ${count}`);
      const mailboxIds = Array.from({ length: Math.max(count, 0) }, () =>
        at(h, 1, 26) ? r.long() : r.int(),
      );
      const digest = r.text();
      const path = r.utf();
      r.short();
      const size = r.int();
      return {
        op: 'StoreIncomingBlob',
        header: h,
        mailboxIds,
        digest,
        path,
        size,
        body: { length: trailingLength(r) },
      };
    }
    case 'MoveItem': {
      const single = r.int();
      const itemType = r.byte();
      const targetFolderId = r.int();
      const constraint = readConstraint(r);
      const ids = readIds(r, single);
      const uidNext = at(h, 1, 16) ? r.int() : -1;
      return { op: 'MoveItem', header: h, ids, itemType, constraint, targetFolderId, uidNext };
    }
    case 'DeleteItem': {
      const single = r.int();
      const itemType = r.byte();
      const constraint = readConstraint(r);
      return { op: 'DeleteItem', header: h, itemType, constraint, ids: readIds(r, single) };
    }
    case 'SetItemTags': {
      const single = r.int();
      const itemType = r.byte();
      const flags = r.int();
      const tags = at(h, 1, 33) ? r.utfArray() : null;
      const tagBitmask = at(h, 1, 33) ? undefined : r.bigLong();
      const constraint = readConstraint(r);
      const ids = readIds(r, single);
      return {
        op: 'SetItemTags',
        header: h,
        itemType,
        flags,
        tags,
        ...(tagBitmask === undefined ? {} : { tagBitmask }),
        constraint,
        ids,
      };
    }
    case 'AlterItemTag': {
      const single = r.int();
      const itemType = r.byte();
      const tag = at(h, 1, 33) ? r.utf() : null;
      const tagId = at(h, 1, 33) ? undefined : r.int();
      const tagged = r.bool();
      const constraint = readConstraint(r);
      const ids = readIds(r, single);
      return {
        op: 'AlterItemTag',
        header: h,
        itemType,
        tag,
        ...(tagId === undefined ? {} : { tagId }),
        tagged,
        constraint,
        ids,
      };
    }
    default:
      throw new Error(`no decoder for ${name}`);
  }
}

function trailingLength(r: RedoDataReader): number {
  const length = r.int();
  if (length < 0) throw new RedoFormatError(`bad body length ${length}`);
  return length;
}

function decodeCreateFolder(h: RedoRecordHeader, r: RedoDataReader): CreateFolderOp {
  const name = r.text();
  const parentId = r.int();
  const attrs = at(h, 1, 19) ? r.byte() : 0;
  const defaultView = r.byte();
  const flags = r.int();
  const color = at(h, 1, 27) ? r.long() : r.byte();
  const url = r.text();
  const folderId = r.int();
  const uuid = at(h, 1, 37) ? r.utf() : null;
  let date: number | null = null;
  // 1.39 logged the date in seconds as an int; 1.40 on, milliseconds as a long.
  if (at(h, 1, 39) && r.bool()) date = at(h, 1, 40) ? r.long() : r.int() * 1000;
  const custom = at(h, 1, 41) ? readCustom(r) : null;
  return {
    op: 'CreateFolder',
    header: h,
    name,
    parentId,
    attrs,
    defaultView,
    flags,
    color,
    url,
    folderId,
    uuid,
    date,
    custom,
  };
}

function decodeCreateMessage(h: RedoRecordHeader, r: RedoDataReader): CreateMessageOp {
  const rcptEmail = r.text();
  const receivedDate = at(h, 1, 4) ? r.long() : h.timestamp;
  const shared = r.bool();
  const digest = r.text();
  const size = at(h, 1, 42) ? r.long() : r.int();
  const msgId = r.int();
  const folderId = r.int();
  const convId = r.int();
  const convFirstMsgId = at(h, 1, 5) ? r.int() : 0;
  const mergedConvIds = at(h, 1, 32) ? r.intList() : [];
  const calendarItemId = r.int();
  const calItemPartStat = at(h, 1, 1) ? r.utf() : null;
  const flags = r.int();
  const noICal = r.bool();
  const tags = at(h, 1, 33) ? r.utfArray() : null;
  const tagIds = at(h, 1, 33) ? undefined : r.utf();
  const path = r.utf();
  r.short();
  const extended = at(h, 1, 25) ? readCustom(r) : null;
  const bodyType = r.byte();
  let body: MessageBody;
  if (bodyType === BODY_INLINE) body = { kind: 'inline', length: trailingLength(r) };
  else if (bodyType === BODY_LINK || bodyType === BODY_EXTERNAL) {
    r.short();
    body = { kind: bodyType === BODY_LINK ? 'link' : 'external' };
  } else throw new RedoFormatError(`bad message body type ${bodyType}`);
  return {
    op: 'CreateMessage',
    header: h,
    rcptEmail,
    receivedDate,
    shared,
    digest,
    size,
    msgId,
    folderId,
    convId,
    convFirstMsgId,
    mergedConvIds,
    calendarItemId,
    calItemPartStat,
    flags,
    noICal,
    tags,
    ...(tagIds === undefined ? {} : { tagIds }),
    path,
    extended,
    body,
  };
}
