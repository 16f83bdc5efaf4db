/**
 * Zimbra's Metadata column encoding (com.zimbra.cs.mailbox.Metadata, bencode-like: d…e
 * dictionaries with sorted keys, l…e lists, i…e integers, <length>:<text> strings), as replay
 * writes it into mail_item.metadata for the items it creates.
 */
export type MetadataValue = string | number | MetadataValue[] | { [key: string]: MetadataValue };

export function encodeMetadata(value: MetadataValue): string {
  if (typeof value === 'number') return `i${Math.trunc(value)}e`;
  if (typeof value === 'string') return `${Buffer.byteLength(value, 'utf8')}:${value}`;
  if (Array.isArray(value)) return `l${value.map(encodeMetadata).join('')}e`;
  const keys = Object.keys(value).sort();
  return `d${keys.map((k) => encodeMetadata(k) + encodeMetadata(value[k] as MetadataValue)).join('')}e`;
}

/** The "v" key Zimbra 8.8–10 writes into every item's metadata. */
export const METADATA_VERSION = 10;

/** A folder's metadata: version and default view ("vt", a MailItem.Type byte) when it has one. */
export function folderMetadata(view: number): string {
  return encodeMetadata({ v: METADATA_VERSION, ...(view ? { vt: view } : {}) });
}
