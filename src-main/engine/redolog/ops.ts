import type { RedoVersion } from './file-header';

/** Version 1.42 is what current Zimbra (8.8 to 10.x) writes (redolog/Version.java). */
export const CURRENT_REDO_VERSION: RedoVersion = { major: 1, minor: 42 };

export function versionAtLeast(v: RedoVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function versionNewerThanCurrent(v: RedoVersion): boolean {
  return !versionAtLeast(CURRENT_REDO_VERSION, v.major, v.minor);
}

/** TransactionId: the generator's start time in seconds and a counter; commits repeat it. */
export interface TransactionId {
  time: number;
  counter: number;
}

export const txnKey = (t: TransactionId): string => `${t.time}.${t.counter}`;

/** The 46-byte common part of every record (RedoableOp.serializeHeader). */
export interface RedoRecordHeader {
  version: RedoVersion;
  opCode: number;
  timestamp: number;
  /** -1 when the op carries no change id. */
  changeId: number;
  /** 0 none; negative: "check created"; positive: "check modified". */
  changeConstraint: number;
  txnId: TransactionId;
  /** 0 unknown; -1 every mailbox (StoreIncomingBlob). */
  mailboxId: number;
}

export interface CustomMetadata {
  section: string;
  value: string | null;
}

/**
 * Where a record's trailing body (CreateMessage inline, StoreIncomingBlob) is: `data` when it was
 * read or is to be written, and always its length and its byte offset in the file it came from,
 * so a replay can read a large body later instead of holding it.
 */
export interface TrailingData {
  length: number;
  offset?: number;
  data?: Buffer;
}

export type MessageBody =
  | ({ kind: 'inline' } & TrailingData)
  | { kind: 'link' }
  /** 10.x with an external RedoLogBlobStore: the blob is found by digest. */
  | { kind: 'external' };

interface Op<Name extends string> {
  op: Name;
  header: RedoRecordHeader;
}

export type CheckpointOp = Op<'Checkpoint'> & { activeTxns: TransactionId[] };
export type CommitTxnOp = Op<'CommitTxn'> & { txnOpCode: number };
export type AbortTxnOp = Op<'AbortTxn'> & { txnOpCode: number };
export type CreateMailboxOp = Op<'CreateMailbox'> & { accountId: string | null };
export type DeleteMailboxOp = Op<'DeleteMailbox'>;
export type CreateTagOp = Op<'CreateTag'> & { tagId: number; name: string; color: number };
export type EmptyFolderOp = Op<'EmptyFolder'> & { folderId: number; subfolders: boolean };
export type RenameFolderOp = Op<'RenameFolder'> & { folderId: number; parentId: number; name: string };

export type CreateFolderOp = Op<'CreateFolder'> & {
  name: string;
  parentId: number;
  attrs: number;
  defaultView: number;
  flags: number;
  color: number;
  url: string;
  folderId: number;
  uuid: string | null;
  date: number | null;
  custom: CustomMetadata | null;
};

export type CreateMessageOp = Op<'CreateMessage'> & {
  rcptEmail: string;
  receivedDate: number;
  shared: boolean;
  digest: string;
  size: number;
  msgId: number;
  folderId: number;
  convId: number;
  convFirstMsgId: number;
  mergedConvIds: number[];
  calendarItemId: number;
  calItemPartStat: string | null;
  flags: number;
  noICal: boolean;
  /** Tag names (version 1.33 on); before that `tagIds`, a comma list of ids. */
  tags: string[] | null;
  tagIds?: string | null;
  path: string | null;
  extended: CustomMetadata | null;
  body: MessageBody;
};

export type StoreIncomingBlobOp = Op<'StoreIncomingBlob'> & {
  mailboxIds: number[];
  digest: string;
  path: string | null;
  size: number;
} & { body: TrailingData };

interface ItemsOp {
  ids: number[];
  itemType: number;
  constraint: string | null;
}

export type MoveItemOp = Op<'MoveItem'> & ItemsOp & { targetFolderId: number; uidNext: number };
export type DeleteItemOp = Op<'DeleteItem'> & ItemsOp;
/** `tags` from 1.33 on; older logs carry a 64-bit tag bitmask instead. */
export type SetItemTagsOp = Op<'SetItemTags'> &
  ItemsOp & { flags: number; tags: string[] | null; tagBitmask?: bigint };
/** `tag` (a name) from 1.33 on; older logs carry a tag id. */
export type AlterItemTagOp = Op<'AlterItemTag'> &
  ItemsOp & { tag: string | null; tagId?: number; tagged: boolean };

/** An op whose layout this codec does not decode: its bytes up to the next record marker. */
export type UnknownOp = Op<'Unknown'> & { name: string; raw: Buffer };

export type RedoOp =
  | CheckpointOp
  | CommitTxnOp
  | AbortTxnOp
  | CreateMailboxOp
  | DeleteMailboxOp
  | CreateTagOp
  | EmptyFolderOp
  | RenameFolderOp
  | CreateFolderOp
  | CreateMessageOp
  | StoreIncomingBlobOp
  | MoveItemOp
  | DeleteItemOp
  | SetItemTagsOp
  | AlterItemTagOp
  | UnknownOp;

export type RedoOpName = RedoOp['op'];

/** The trailing body of a record that has one (inline CreateMessage, StoreIncomingBlob). */
export function trailingOf(op: RedoOp): TrailingData | undefined {
  if (op.op === 'StoreIncomingBlob') return op.body;
  if (op.op === 'CreateMessage' && op.body.kind === 'inline') return op.body;
  return undefined;
}
