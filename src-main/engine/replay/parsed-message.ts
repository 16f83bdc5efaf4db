/**
 * What mailboxd reads out of a message when it stores it (ParsedMessage), re-done from the raw
 * bytes on replay as Zimbra's Mailbox.addMessage does: the normalized subject for the subject
 * column and the raw one in metadata when it differs, the sender and recipients sort strings,
 * and the fragment (the first words of the first text/plain part).
 */
export interface ParsedMessage {
  subject: string;
  rawSubject: string;
  sender: string;
  recipients: string;
  fragment: string;
}

/** DbMailItem.MAX_SENDER_LENGTH / MAX_RECIPIENTS_LENGTH: the columns are varchar(128). */
export const MAX_ADDRESS_COLUMN = 128;
/** Fragment.MAX_FRAGMENT_LENGTH. */
export const MAX_FRAGMENT = 150;

/** ParsedMessage.normalizeSubject: reply/forward prefixes off, whitespace trimmed. */
export function normalizeSubject(subject: string): string {
  let s = subject.trim();
  for (;;) {
    const next = s.replace(/^(re|fwd?|aw|sv|antw)\s*:\s*/i, '');
    if (next === s) return s;
    s = next.trim();
  }
}

/** Fragment.getFragment for plain text: whitespace runs collapsed, at most MAX_FRAGMENT characters. */
export function fragmentOf(text: string): string {
  // Only the start matters: collapse a prefix, and the whole text only if the prefix is mostly blank.
  const head = text.slice(0, 4096).replace(/\s+/g, ' ').trim();
  const collapsed =
    head.length > MAX_FRAGMENT || text.length <= 4096 ? head : text.replace(/\s+/g, ' ').trim();
  return collapsed.slice(0, MAX_FRAGMENT).trimEnd();
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(text: string): Part {
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  // Unfold continuation lines, then keep the first occurrence of each header.
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

/** The first text/plain content, depth first, as ParsedMessage picks the body for the fragment. */
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

/** The addresses of an address header as sort strings (display name if any, else the address). */
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

export function parseMessage(raw: Buffer): ParsedMessage {
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
