import { folderMetadata } from './metadata';

/**
 * The folders Mailbox.create gives every new mailbox (Mailbox.java ID_FOLDER_*, with parents and
 * default views as MailItem.Type bytes), and the flag bits items carry (Flag.java: flag id -n is
 * bit 1 << (n - 1) of mail_item.flags; \Unread is kept in its own column).
 */
export const SYSTEM_FOLDERS = [
  { id: 11, name: 'ROOT', parent: 11, view: 0 },
  { id: 1, name: 'USER_ROOT', parent: 11, view: 0 },
  { id: 8, name: 'Tags', parent: 11, view: 3 },
  { id: 9, name: 'Conversations', parent: 11, view: 4 },
  { id: 17, name: 'Comments', parent: 11, view: 17 },
  { id: 2, name: 'Inbox', parent: 1, view: 5 },
  { id: 3, name: 'Trash', parent: 1, view: 0 },
  { id: 4, name: 'Junk', parent: 1, view: 5 },
  { id: 5, name: 'Sent', parent: 1, view: 5 },
  { id: 6, name: 'Drafts', parent: 1, view: 5 },
  { id: 7, name: 'Contacts', parent: 1, view: 6 },
  { id: 10, name: 'Calendar', parent: 1, view: 11 },
  { id: 13, name: 'Emailed Contacts', parent: 1, view: 6 },
  { id: 14, name: 'Chats', parent: 1, view: 16 },
  { id: 15, name: 'Tasks', parent: 1, view: 15 },
  { id: 16, name: 'Briefcase', parent: 1, view: 8 },
] as const;

export const FIRST_USER_ID = 256;

/** The INSERT of a new mailbox's system folders (mail_item rows of type folder), `VALUES ?`. */
export const insertSystemFolders = (mailItemTable: string) =>
  `INSERT INTO ${mailItemTable} (mailbox_id, id, type, parent_id, folder_id, date, size, unread, flags, name,
     metadata, mod_metadata, change_date, mod_content) VALUES ?`;

/** The rows insertSystemFolders takes: dated `at` (unix seconds), stamped with the creating change. */
export function systemFolderRows(mailboxId: number, at: number, changeId: number): unknown[][] {
  return SYSTEM_FOLDERS.map((f) => [
    mailboxId,
    f.id,
    FOLDER_TYPE,
    f.parent,
    f.parent,
    at,
    0,
    0,
    0,
    f.name,
    folderMetadata(f.view),
    changeId,
    at,
    changeId,
  ]);
}

/** MailItem.Type.FOLDER. */
const FOLDER_TYPE = 1;

/** Flag names as AlterItemTag carries them (Flag.FlagInfo), and their flag ids. */
export const FLAG_IDS: Record<string, number> = {
  '\\Sent': -1,
  '\\Attached': -2,
  '\\Answered': -3,
  '\\Forwarded': -4,
  '\\Copied': -5,
  '\\Flagged': -6,
  '\\Draft': -7,
  '\\Deleted': -8,
  '\\Notified': -9,
  '\\Unread': -10,
};

export const flagBit = (flagId: number) => 1 << (-flagId - 1);
export const UNREAD_BIT = flagBit(-10);

/** tag_names as ZCS 8+ stores them: names between NUL separators. */
export const tagNames = (tags: readonly string[]) => (tags.length ? `\0${tags.join('\0')}\0` : null);
export const parseTagNames = (value: unknown) =>
  String(value ?? '')
    .split('\0')
    .filter(Boolean);
