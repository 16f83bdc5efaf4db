/**
 * The folders every new mailbox gets (Mailbox.java ID_FOLDER_*), with their parents and default
 * views (item type bytes). User items start at FIRST_USER_ID = 256. The list is the engine's own:
 * the simulator creates mailboxes exactly as replay recreates them.
 */
import {
  FIRST_USER_ID,
  flagBit,
  SYSTEM_FOLDERS as ENGINE_SYSTEM_FOLDERS,
} from '../../engine/replay/system-folders';

export { FIRST_USER_ID, flagBit };
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

export const SYSTEM_FOLDERS: readonly SystemFolder[] = ENGINE_SYSTEM_FOLDERS;

/** Flag ids are negative; their bit in mail_item.flags is 1 << (-id - 1) (Flag.java). */
export const FLAG = {
  fromMe: -1,
  attached: -2,
  replied: -3,
  forwarded: -4,
  flagged: -6,
  unread: -10,
} as const;
