import type { RedoDataWriter } from './data-io';
import { RedoFormatError } from './file-header';
import {
  versionAtLeast,
  type CreateFolderOp,
  type CreateMessageOp,
  type CustomMetadata,
  type RedoOp,
  type RedoRecordHeader,
} from './ops';

/** The inverse of op-bodies.ts, at the record's own version. */

const at = (h: RedoRecordHeader, major: number, minor: number) => versionAtLeast(h.version, major, minor);

function writeCustom(w: RedoDataWriter, c: CustomMetadata | null): void {
  w.utf(c?.section ?? null);
  if (c) w.utf(c.value);
}

function writeConstraint(w: RedoDataWriter, c: string | null): void {
  w.bool(c !== null);
  if (c !== null) w.utf(c);
}

/** Writes the data section; returns the trailing body to append after it, if the op has one. */
export function encodeBody(op: RedoOp, w: RedoDataWriter): Buffer | undefined {
  const h = op.header;
  switch (op.op) {
    case 'Checkpoint':
      w.int(op.activeTxns.length);
      for (const t of op.activeTxns) w.int(t.time).int(t.counter);
      return undefined;
    case 'CommitTxn':
    case 'AbortTxn':
      w.int(op.txnOpCode);
      return undefined;
    case 'CreateMailbox':
      w.utf(op.accountId);
      return undefined;
    case 'DeleteMailbox':
      return undefined;
    case 'CreateTag':
      w.int(op.tagId).utf(op.name);
      if (at(h, 1, 27)) w.long(op.color);
      else w.byte(op.color);
      return undefined;
    case 'EmptyFolder':
      w.int(op.folderId).bool(op.subfolders);
      return undefined;
    case 'RenameFolder':
      w.int(op.folderId).int(op.parentId).utf(op.name);
      return undefined;
    case 'CreateFolder':
      encodeCreateFolder(op, w);
      return undefined;
    case 'CreateMessage':
      return encodeCreateMessage(op, w);
    case 'StoreIncomingBlob': {
      w.int(op.mailboxIds.length);
      for (const id of op.mailboxIds) {
        if (at(h, 1, 26)) w.long(id);
        else w.int(id);
      }
      w.utf(op.digest).utf(op.path).short(-1).int(op.size);
      return trailing(op.body, w);
    }
    case 'MoveItem':
      w.int(-1).byte(op.itemType).int(op.targetFolderId);
      writeConstraint(w, op.constraint);
      w.intList(op.ids);
      if (at(h, 1, 16)) w.int(op.uidNext);
      return undefined;
    case 'DeleteItem':
      w.int(-1).byte(op.itemType);
      writeConstraint(w, op.constraint);
      w.intList(op.ids);
      return undefined;
    case 'SetItemTags':
      w.int(-1).byte(op.itemType).int(op.flags);
      if (at(h, 1, 33)) w.utfArray(op.tags);
      else w.long(op.tagBitmask ?? 0n);
      writeConstraint(w, op.constraint);
      w.intList(op.ids);
      return undefined;
    case 'AlterItemTag':
      w.int(-1).byte(op.itemType);
      if (at(h, 1, 33)) w.utf(op.tag);
      else w.int(op.tagId ?? 0);
      w.bool(op.tagged);
      writeConstraint(w, op.constraint);
      w.intList(op.ids);
      return undefined;
    case 'Unknown':
      w.bytes(op.raw);
      return undefined;
  }
}

function trailing(body: { length: number; data?: Buffer }, w: RedoDataWriter): Buffer {
  if (!body.data) throw new RedoFormatError('a record with a trailing body needs its data to be written');
  if (body.data.length !== body.length)
    throw new RedoFormatError(`body length ${body.length} but ${body.data.length} bytes given`);
  w.int(body.data.length);
  return body.data;
}

function encodeCreateFolder(op: CreateFolderOp, w: RedoDataWriter): void {
  const h = op.header;
  w.utf(op.name).int(op.parentId);
  if (at(h, 1, 19)) w.byte(op.attrs);
  w.byte(op.defaultView).int(op.flags);
  if (at(h, 1, 27)) w.long(op.color);
  else w.byte(op.color);
  w.utf(op.url).int(op.folderId);
  if (at(h, 1, 37)) w.utf(op.uuid);
  if (at(h, 1, 39)) {
    w.bool(op.date !== null);
    if (op.date !== null) {
      if (at(h, 1, 40)) w.long(op.date);
      else w.int(Math.floor(op.date / 1000));
    }
  }
  if (at(h, 1, 41)) writeCustom(w, op.custom);
}

function encodeCreateMessage(op: CreateMessageOp, w: RedoDataWriter): Buffer | undefined {
  const h = op.header;
  w.utf(op.rcptEmail);
  if (at(h, 1, 4)) w.long(op.receivedDate);
  w.bool(op.shared).utf(op.digest);
  if (at(h, 1, 42)) w.long(op.size);
  else w.int(op.size);
  w.int(op.msgId).int(op.folderId).int(op.convId);
  if (at(h, 1, 5)) w.int(op.convFirstMsgId);
  if (at(h, 1, 32)) w.intList(op.mergedConvIds);
  w.int(op.calendarItemId);
  if (at(h, 1, 1)) w.utf(op.calItemPartStat);
  w.int(op.flags).bool(op.noICal);
  if (at(h, 1, 33)) w.utfArray(op.tags);
  else w.utf(op.tagIds ?? null);
  w.utf(op.path).short(-1);
  if (at(h, 1, 25)) writeCustom(w, op.extended);
  switch (op.body.kind) {
    case 'inline':
      w.byte(1);
      return trailing(op.body, w);
    case 'link':
      w.byte(2).short(-1);
      return undefined;
    case 'external':
      w.byte(3).short(-1);
      return undefined;
  }
}
