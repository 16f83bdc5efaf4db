import type { CreateMessageOp } from '../redolog';
import { timestampOf, type ApplyContext } from './apply-context';
import { encodeMetadata, METADATA_VERSION } from './metadata';
import { parseMessage } from './parsed-message';
import { tagNames, UNREAD_BIT } from './system-folders';

/**
 * The mail_item row of a message replay creates (both paths: apply-items.ts one op at a time,
 * bulk-apply.ts a run at once), as Mailbox.addMessage writes it on redo: the op's ids, dates and
 * change id, the volume it is stored on, and what the message itself says (subject, sender,
 * recipients, fragment), parsed again from its bytes.
 */
export const MESSAGE_COLUMNS = [
  'mailbox_id',
  'id',
  'type',
  'parent_id',
  'folder_id',
  'index_id',
  'imap_id',
  'date',
  'size',
  'locator',
  'blob_digest',
  'unread',
  'flags',
  'tags',
  'tag_names',
  'sender',
  'recipients',
  'subject',
  'name',
  'metadata',
  'mod_metadata',
  'change_date',
  'mod_content',
  'prev_folders',
] as const;

export type MessageColumn = (typeof MESSAGE_COLUMNS)[number];

/** Where each column is in a row. */
export const MESSAGE_COLUMN_AT = Object.fromEntries(MESSAGE_COLUMNS.map((c, i) => [c, i])) as Record<
  MessageColumn,
  number
>;

/** MailItem.Type.MESSAGE. */
const MESSAGE_TYPE = 5;

/** INSERT of message rows: `VALUES ?` takes a list of rows, `VALUES (?)` one row. */
export const insertMessages = (table: string, values: '?' | '(?)') =>
  `INSERT INTO ${table} (${MESSAGE_COLUMNS.join(', ')}) VALUES ${values}`;

/** The row of the message a CreateMessage stores, from its body (checked against its digest before the run commits). */
export function messageRow(ctx: ApplyContext, op: CreateMessageOp, raw: Buffer): unknown[] {
  const changeId = op.header.changeId;
  const parsed = parseMessage(raw);
  const metadata = encodeMetadata({
    v: METADATA_VERSION,
    ...(parsed.fragment ? { f: parsed.fragment } : {}),
    ...(parsed.rawSubject !== parsed.subject ? { s: parsed.rawSubject } : {}),
  });
  const values: Record<MessageColumn, unknown> = {
    mailbox_id: ctx.box.mailboxId,
    id: op.msgId,
    type: MESSAGE_TYPE,
    parent_id: null,
    folder_id: op.folderId,
    index_id: op.msgId,
    imap_id: op.msgId,
    date: Math.floor(op.receivedDate / 1000),
    size: op.size,
    locator: String(ctx.messageVolume.id),
    blob_digest: op.digest,
    unread: op.flags & UNREAD_BIT ? 1 : 0,
    flags: op.flags & ~UNREAD_BIT,
    tags: 0,
    tag_names: tagNames(op.tags ?? []),
    sender: parsed.sender,
    recipients: parsed.recipients,
    subject: parsed.subject,
    name: null,
    metadata,
    mod_metadata: changeId,
    change_date: timestampOf(op),
    mod_content: changeId,
    prev_folders: null,
  };
  return MESSAGE_COLUMNS.map((c) => values[c]);
}
