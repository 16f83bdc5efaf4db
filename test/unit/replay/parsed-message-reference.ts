/**
 * The message parser as it was before it worked on the bytes (the whole message decoded, then
 * split with regular expressions): the reference the byte-level parser must agree with on every
 * message, kept here only for the tests.
 */
import {
  fragmentOf,
  MAX_ADDRESS_COLUMN,
  normalizeSubject,
  type ParsedMessage,
} from '../../../src-main/engine/replay/parsed-message';

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(text: string): Part {
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function contentType(part: Part): { type: string; boundary: string | null } {
  const value = part.headers.get('content-type') ?? 'text/plain';
  const type = value.split(';')[0]!.trim().toLowerCase();
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(value);
  return { type, boundary: boundary ? (boundary[1] ?? boundary[2] ?? null) : null };
}

function firstText(part: Part, depth = 0): string | null {
  const { type, boundary } = contentType(part);
  if (type === 'text/plain') return part.body;
  if (!type.startsWith('multipart/') || !boundary || depth > 8) return null;
  const pieces = part.body.split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith('--')) break;
    const found = firstText(splitPart(piece.replace(/^[ \t]*\r?\n/, '')), depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function addressSortStrings(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      const named = /^"?([^"<]*?)"?\s*<([^>]+)>$/.exec(a);
      if (named) return named[1]!.trim() || named[2]!.trim();
      return a;
    });
}

export function referenceParseMessage(raw: Buffer): ParsedMessage {
  const top = splitPart(raw.toString('utf8'));
  const rawSubject = top.headers.get('subject') ?? '';
  return {
    subject: normalizeSubject(rawSubject),
    rawSubject,
    sender: (addressSortStrings(top.headers.get('from'))[0] ?? '').slice(0, MAX_ADDRESS_COLUMN),
    recipients: addressSortStrings(top.headers.get('to')).join(', ').slice(0, MAX_ADDRESS_COLUMN),
    fragment: fragmentOf(firstText(top) ?? ''),
  };
}
