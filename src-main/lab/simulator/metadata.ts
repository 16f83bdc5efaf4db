/**
 * Zimbra's Metadata column encoding (bencode-like: d…e dictionaries, l…e lists, i…e integers,
 * <length>:<text> strings), used in mail_item.metadata and mailbox_metadata.metadata.
 */
export type MetadataValue = string | number | MetadataValue[] | { [key: string]: MetadataValue };

export function encodeMetadata(value: MetadataValue): string {
  if (typeof value === 'number') return `i${Math.trunc(value)}e`;
  if (typeof value === 'string') return `${Buffer.byteLength(value, 'utf8')}:${value}`;
  if (Array.isArray(value)) return `l${value.map(encodeMetadata).join('')}e`;
  const keys = Object.keys(value).sort();
  return `d${keys.map((k) => encodeMetadata(k) + encodeMetadata(value[k] as MetadataValue)).join('')}e`;
}

/** Metadata version Zimbra 8.8–10 writes ("v" key). */
export const METADATA_VERSION = 10;
