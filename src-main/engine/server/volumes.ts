import path from 'node:path';

/**
 * Where Zimbra keeps a mailbox's files on a volume (a row of zimbra.volume). The shifts and masks
 * come from the row, never from defaults, so servers configured otherwise are read correctly.
 */
export interface Volume {
  id: number;
  /** 1 primary message, 2 secondary message (HSM), 10 index. */
  type: number;
  name: string;
  path: string;
  fileBits: number;
  fileGroupBits: number;
  mailboxBits: number;
  mailboxGroupBits: number;
  compressBlobs: boolean;
  compressionThreshold: number;
}

export const VOLUME_TYPE = { primaryMessage: 1, secondaryMessage: 2, index: 10 } as const;

/** A row of zimbra.volume as mysql2 returns it. */
export function volumeFromRow(row: Record<string, unknown>): Volume {
  return {
    id: Number(row.id),
    type: Number(row.type),
    name: String(row.name),
    path: String(row.path),
    fileBits: Number(row.file_bits),
    fileGroupBits: Number(row.file_group_bits),
    mailboxBits: Number(row.mailbox_bits),
    mailboxGroupBits: Number(row.mailbox_group_bits),
    compressBlobs: Boolean(Number(row.compress_blobs)),
    compressionThreshold: Number(row.compression_threshold),
  };
}

const group = (id: number, bits: number, groupBits: number) =>
  Math.floor(id / 2 ** bits) & (2 ** groupBits - 1);

/** <path>/<mailbox group>/<mailbox id>: the root of a mailbox's files on a volume. */
export function mailboxDir(volume: Volume, mailboxId: number): string {
  return path.join(
    volume.path,
    String(group(mailboxId, volume.mailboxBits, volume.mailboxGroupBits)),
    String(mailboxId),
  );
}

/** <mailbox dir>/msg/<item group>/<item>-<revision>.msg (no revision suffix when it is negative). */
export function blobPath(volume: Volume, mailboxId: number, itemId: number, modContent: number): string {
  const name = modContent < 0 ? `${itemId}.msg` : `${itemId}-${modContent}.msg`;
  return path.join(
    mailboxDir(volume, mailboxId),
    'msg',
    String(group(itemId, volume.fileBits, volume.fileGroupBits)),
    name,
  );
}

/** The Lucene directory of a mailbox: <index volume>/<group>/<mailbox id>/index/0. */
export function indexDir(volume: Volume, mailboxId: number): string {
  return path.join(mailboxDir(volume, mailboxId), 'index', '0');
}

/** Database of a mailbox's rows: mboxgroup((id - 1) mod groups + 1), as DbMailbox computes it. */
export function mailboxGroupDb(mailboxId: number, groups: number): string {
  return `mboxgroup${((mailboxId - 1) % groups) + 1}`;
}
