import { blobDigest } from '../../engine/server/blob-digest';
import { ITEM_TYPE, type RedoOp } from '../../engine/redolog';
import type { SimFolder, SimMessage, SimMailbox, SimTag } from './mailbox';
import type { GeneratedMessage } from './messages';
import { FLAG, flagBit } from './system-folders';

/**
 * The redo op each simulated change logs, with the values mailboxd's Mailbox methods give their
 * redo recorders (Mailbox.addMessage, move, delete, alterTag, setTags, createFolder, …).
 * The record header (time, transaction, mailbox, change id) is added by RedoManager.
 */
export type OpBody<T extends RedoOp = RedoOp> = T extends RedoOp ? Omit<T, 'header'> : never;

/** Flag names as AlterItemTag carries them since 1.33 (Flag.FlagInfo). */
const FLAG_NAMES: Record<number, string> = {
  [FLAG.fromMe]: '\\Sent',
  [FLAG.attached]: '\\Attached',
  [FLAG.replied]: '\\Answered',
  [FLAG.forwarded]: '\\Forwarded',
  [FLAG.flagged]: '\\Flagged',
  [FLAG.unread]: '\\Unread',
};

/** IcalXmlStrMap.PARTSTAT_NEEDS_ACTION, the recorder's default. */
const NEEDS_ACTION = 'NE';

const messageFlags = (msg: SimMessage) => msg.flags | (msg.unread ? flagBit(FLAG.unread) : 0);

export function createMailbox(accountId: string): OpBody {
  return { op: 'CreateMailbox', accountId };
}

/**
 * LMTP delivery to one mailbox: the body inline (one recipient, setMessageBodyInfo with a data
 * source, path ":streamed:") or a link to a blob a StoreIncomingBlob logged (several recipients).
 */
export function createMessage(
  m: SimMailbox,
  msg: SimMessage,
  g: GeneratedMessage,
  body: { inline: Buffer } | { link: string },
): OpBody {
  return {
    op: 'CreateMessage',
    rcptEmail: m.email,
    receivedDate: g.date.getTime(),
    shared: 'link' in body,
    digest: msg.digest,
    size: g.raw.length,
    msgId: msg.id,
    folderId: msg.folderId,
    // A message alone in its conversation belongs to a virtual conversation, id -msgId.
    convId: -msg.id,
    convFirstMsgId: 0,
    mergedConvIds: [],
    calendarItemId: 0,
    calItemPartStat: NEEDS_ACTION,
    flags: messageFlags(msg),
    noICal: false,
    tags: [...msg.tags],
    path: 'link' in body ? body.link : ':streamed:',
    extended: null,
    body:
      'link' in body ? { kind: 'link' } : { kind: 'inline', length: body.inline.length, data: body.inline },
  };
}

/** The blob of a multi-recipient delivery, stored once in incoming/ for every mailbox. */
export function storeIncomingBlob(mailboxIds: number[], raw: Buffer, stagingPath: string): OpBody {
  return {
    op: 'StoreIncomingBlob',
    mailboxIds,
    digest: blobDigest(raw),
    path: stagingPath,
    size: raw.length,
    body: { length: raw.length, data: raw },
  };
}

export function alterItemTag(msg: SimMessage, flagId: number, on: boolean): OpBody {
  const tag = FLAG_NAMES[flagId];
  if (!tag) throw new Error(`no flag name for flag ${flagId}`);
  return {
    op: 'AlterItemTag',
    ids: [msg.id],
    itemType: ITEM_TYPE.message,
    tag,
    tagged: on,
    constraint: null,
  };
}

export function setItemTags(msg: SimMessage, tags: string[]): OpBody {
  return {
    op: 'SetItemTags',
    ids: [msg.id],
    itemType: ITEM_TYPE.message,
    flags: messageFlags(msg),
    tags,
    constraint: null,
  };
}

export function createTag(tag: SimTag): OpBody {
  return { op: 'CreateTag', tagId: tag.id, name: tag.name, color: tag.color };
}

export function moveItem(ids: number[], targetFolderId: number): OpBody {
  // uidNext -1: Mailbox.ID_AUTO_INCREMENT, as for every move that is not an IMAP COPY/MOVE.
  return { op: 'MoveItem', ids, itemType: ITEM_TYPE.message, targetFolderId, constraint: null, uidNext: -1 };
}

export function deleteItem(ids: number[]): OpBody {
  return { op: 'DeleteItem', ids, itemType: ITEM_TYPE.message, constraint: null };
}

export function emptyFolder(folderId: number): OpBody {
  return { op: 'EmptyFolder', folderId, subfolders: true };
}

export function createFolder(folder: SimFolder, uuid: string): OpBody {
  return {
    op: 'CreateFolder',
    name: folder.name,
    parentId: folder.parent,
    attrs: 0,
    defaultView: folder.view,
    flags: 0,
    color: 0,
    url: '',
    folderId: folder.id,
    uuid,
    date: null,
    custom: null,
  };
}

export function renameFolder(folder: SimFolder, name: string): OpBody {
  return { op: 'RenameFolder', folderId: folder.id, parentId: folder.parent, name };
}
