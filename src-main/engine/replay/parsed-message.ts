/**
 * What mailboxd reads out of a message when it stores it (ParsedMessage), re-done from the raw
 * bytes on replay as Zimbra's Mailbox.addMessage does: the normalized subject for the subject
 * column and the raw one in metadata when it differs, the sender and recipients sort strings,
 * and the fragment (the first words of the first text/plain part).
 *
 * Replay parses every message it creates, and most of a message is attachments no column needs:
 * the structure is found on the bytes (every delimiter is ASCII, so a byte offset found there is
 * where the same text starts in the decoded message), and only the header blocks walked and the
 * start of the first text/plain part are decoded.
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

/** Characters of text the fragment is taken from, unless they are mostly blank. */
const FRAGMENT_SOURCE = 4096;
/**
 * Bytes decoded for the fragment: more than FRAGMENT_SOURCE characters' worth (a UTF-16 character
 * takes at most 3 bytes of UTF-8, a surrogate pair 4 bytes for two), with room to spare.
 */
const FRAGMENT_BYTES = FRAGMENT_SOURCE * 4;

const CR = 0x0d;
const LF = 0x0a;

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
  const head = collapsedHead(text);
  const collapsed =
    head.length > MAX_FRAGMENT || text.length <= FRAGMENT_SOURCE ? head : text.replace(/\s+/g, ' ').trim();
  return collapsed.slice(0, MAX_FRAGMENT).trimEnd();
}

const collapsedHead = (text: string) => text.slice(0, FRAGMENT_SOURCE).replace(/\s+/g, ' ').trim();

/** Characters that decide most fragments: collapsed, they hold more than MAX_FRAGMENT characters. */
const QUICK_CHARS = 512;

/**
 * fragmentOf the text bytes [start, end) decode to, decoding only their start when that decides it.
 *
 * Collapsing whitespace works left to right, so the collapsed start of a text is the start of the
 * collapsed text: when the first QUICK_CHARS characters collapse to something with a non-blank
 * character past MAX_FRAGMENT, the fragment is already in them. Otherwise the first FRAGMENT_BYTES
 * are decoded: more than FRAGMENT_SOURCE characters, of which only the last can differ from the
 * whole text's (a sequence cut short), so the head taken from them is the whole text's.
 */
function fragmentOfBytes(raw: Buffer, start: number, end: number): string {
  const quickEnd = Math.min(end, start + QUICK_CHARS * 4);
  const quick = raw.toString('utf8', start, quickEnd);
  // Leaves out the last character of a cut decode: it may be a sequence cut short.
  const prefix = quick.slice(0, Math.min(QUICK_CHARS, quickEnd === end ? quick.length : quick.length - 1));
  const collapsed = prefix.replace(/\s+/g, ' ').trimStart();
  if (/\S/.test(collapsed.slice(MAX_FRAGMENT))) return collapsed.slice(0, MAX_FRAGMENT).trimEnd();
  if (end - start <= FRAGMENT_BYTES) return fragmentOf(raw.toString('utf8', start, end));
  const head = collapsedHead(raw.toString('utf8', start, start + FRAGMENT_BYTES));
  if (head.length > MAX_FRAGMENT) return head.slice(0, MAX_FRAGMENT).trimEnd();
  // Mostly blank: the fragment comes from further on, as fragmentOf takes it.
  return fragmentOf(raw.toString('utf8', start, end));
}

/** A MIME entity inside the message bytes: its headers, and where its body lies. */
interface Part {
  headers: Map<string, string>;
  bodyStart: number;
  bodyEnd: number;
}

/**
 * Where the first blank line (/\r?\n\r?\n/, the earliest match) of [start, end) begins and ends.
 */
function blankLine(raw: Buffer, start: number, end: number): { from: number; to: number } | null {
  for (let i = raw.indexOf(LF, start); i >= 0 && i < end; i = raw.indexOf(LF, i + 1)) {
    let to = -1;
    if (i + 1 < end && raw[i + 1] === LF) to = i + 2;
    else if (i + 2 < end && raw[i + 1] === CR && raw[i + 2] === LF) to = i + 3;
    if (to >= 0) return { from: i > start && raw[i - 1] === CR ? i - 1 : i, to };
  }
  return null;
}

/** Headers up to the first blank line, the body after it (none without a blank line). */
function splitPart(raw: Buffer, start: number, end: number): Part {
  const blank = blankLine(raw, start, end);
  const head = raw.toString('utf8', start, blank ? blank.from : end);
  const headers = new Map<string, string>();
  // Unfold continuation lines, then keep the first occurrence of each header.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return blank ? { headers, bodyStart: blank.to, bodyEnd: end } : { headers, bodyStart: end, bodyEnd: end };
}

function contentType(part: Part): { type: string; boundary: string | null } {
  const value = part.headers.get('content-type') ?? 'text/plain';
  const type = value.split(';')[0]!.trim().toLowerCase();
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(value);
  return { type, boundary: boundary ? (boundary[1] ?? boundary[2] ?? null) : null };
}

/**
 * The body parts of a multipart body, as ranges: what lies between one delimiter ("--boundary",
 * with the line break before it, anywhere in the body) and the next, the preamble left out, up
 * to the close delimiter.
 */
function* bodyParts(raw: Buffer, part: Part, boundary: Buffer): Generator<{ start: number; end: number }> {
  const { bodyStart, bodyEnd } = part;
  const find = (from: number) => {
    const at = raw.indexOf(boundary, from);
    return at >= 0 && at + boundary.length <= bodyEnd ? at : -1;
  };
  let at = find(bodyStart);
  while (at >= 0) {
    const start = at + boundary.length;
    const next = find(start);
    let end = next >= 0 ? next : bodyEnd;
    // The line break before a delimiter belongs to it: \r?\n? as the earliest match takes it.
    if (next >= 0 && end > start && raw[end - 1] === LF) end--;
    if (next >= 0 && end > start && raw[end - 1] === CR) end--;
    // "--boundary--" closes the body.
    if (raw[start] === 0x2d && raw[start + 1] === 0x2d && start + 2 <= end) return;
    yield { start, end };
    at = next;
  }
}

/** Past the transport padding and line break that end a delimiter line (/^[ \t]*\r?\n/). */
function afterDelimiterLine(raw: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
  if (i < end && raw[i] === CR) i++;
  return i < end && raw[i] === LF ? i + 1 : start;
}

/** The first text/plain content, depth first, as ParsedMessage picks the body for the fragment. */
function firstText(raw: Buffer, part: Part, depth = 0): { start: number; end: number } | null {
  const { type, boundary } = contentType(part);
  if (type === 'text/plain') return { start: part.bodyStart, end: part.bodyEnd };
  if (!type.startsWith('multipart/') || !boundary || depth > 8) return null;
  for (const piece of bodyParts(raw, part, Buffer.from(`--${boundary}`, 'utf8'))) {
    const found = firstText(
      raw,
      splitPart(raw, afterDelimiterLine(raw, piece.start, piece.end), piece.end),
      depth + 1,
    );
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
  const top = splitPart(raw, 0, raw.length);
  const rawSubject = top.headers.get('subject') ?? '';
  const text = firstText(raw, top);
  return {
    subject: normalizeSubject(rawSubject),
    rawSubject,
    sender: (addressSortStrings(top.headers.get('from'))[0] ?? '').slice(0, MAX_ADDRESS_COLUMN),
    recipients: addressSortStrings(top.headers.get('to')).join(', ').slice(0, MAX_ADDRESS_COLUMN),
    fragment: text ? fragmentOfBytes(raw, text.start, text.end) : '',
  };
}
