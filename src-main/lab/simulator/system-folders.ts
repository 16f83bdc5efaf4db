/**
 * The folders every new mailbox gets (Mailbox.java ID_FOLDER_*), with their parents and default
 * views (item type bytes). User items start at FIRST_USER_ID = 256.
 */
export const FIRST_USER_ID = 256;
export const FOLDER = { userRoot: 1, inbox: 2, trash: 3, junk: 4, sent: 5, drafts: 6, root: 11 } as const;
export const ITEM_TYPE = {
  folder: 1,
  searchFolder: 2,
  tag: 3,
  conversation: 4,
  message: 5,
  contact: 6,
  appointment: 11,
} as const;

export interface SystemFolder {
  id: number;
  name: string;
  parent: number;
  /** Default view as MailItem.Type byte; 0 when none. */
  view: number;
}

export const SYSTEM_FOLDERS: SystemFolder[] = [
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
];

/** Flag ids are negative; their bit in mail_item.flags is 1 << (-id - 1) (Flag.java). */
export const FLAG = {
  fromMe: -1,
  attached: -2,
  replied: -3,
  forwarded: -4,
  flagged: -6,
  unread: -10,
} as const;
export const flagBit = (flagId: number) => 1 << (-flagId - 1);
