import { Random } from './random';

/** A delivered message as the MTA hands it to LMTP: RFC 5322 bytes plus envelope facts. */
export interface GeneratedMessage {
  raw: Buffer;
  subject: string;
  sender: string;
  recipients: string[];
  date: Date;
  messageId: string;
  words: string[];
  /** The text/plain content as it stands in the message (what mailboxd takes the fragment from). */
  bodyText: string;
}

const WORDS = (
  'backup restore mailbox server volume index quarterly report invoice meeting agenda project ' +
  'deadline budget review schedule travel contract proposal release update security patch ' +
  'customer support ticket lunch holiday conference minutes action items follow draft final ' +
  'approval network storage migration cluster replica failover snapshot archive policy retention'
).split(' ');
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const SENDER_DOMAINS = ['partner.test', 'vendor.test', 'customer.test', 'lists.test'];

function sentence(random: Random, words: number): string[] {
  return Array.from({ length: words }, () => random.pick(WORDS));
}

/**
 * Body text is cut from one shared stretch of random words, wrapped at 72 columns, at an offset
 * the message's own random stream picks: as varied as drawing every word, without 75 million
 * draws for a 50,000-message lab.
 */
const TEXT_POOL_BYTES = 1024 * 1024;
let textPool: string | undefined;
let bytePool: Buffer | undefined;
/** Attachment bytes, cut likewise from one shared random stretch. */
function attachmentBytes(random: Random, bytes: number): Buffer {
  bytePool ??= new Random('mailvault-byte-pool').bytes(TEXT_POOL_BYTES);
  const parts: Buffer[] = [];
  for (let left = bytes; left > 0;) {
    const start = random.int(0, bytePool.length - 1);
    const part = bytePool.subarray(start, start + Math.min(left, bytePool.length - start));
    parts.push(part);
    left -= part.length;
  }
  return Buffer.concat(parts, bytes);
}

function bodyText(random: Random, bytes: number): string {
  textPool ??= sentence(new Random('mailvault-text-pool'), TEXT_POOL_BYTES / 7)
    .join(' ')
    .replace(/(.{1,72})(\s|$)/g, '$1\r\n');
  let text = '';
  while (text.length < bytes) {
    const start = textPool.indexOf('\r\n', random.int(0, textPool.length - 1024)) + 2;
    text += textPool.slice(start, start + Math.min(bytes - text.length, textPool.length - start));
  }
  return text;
}

/**
 * Makes a plausible message of about `size` bytes: headers a Zimbra mailbox would index
 * (From, To, Subject, Date, Message-ID) and a text body; some carry a base64 attachment so that
 * sizes spread out the way real mail does.
 */
export function generateMessage(random: Random, to: string[], size: number, at: Date): GeneratedMessage {
  const sender = `${random.pick(NAMES)}@${random.pick(SENDER_DOMAINS)}`;
  const subjectWords = sentence(random, random.int(2, 6));
  const subject = (random.chance(0.2) ? 'Re: ' : '') + subjectWords.join(' ');
  const messageId = `<${random.uuid()}@${sender.split('@')[1]}>`;
  const headers = [
    `Return-Path: <${sender}>`,
    `From: ${sender}`,
    `To: ${to.join(', ')}`,
    `Subject: ${subject}`,
    `Date: ${at.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
  ];
  const withAttachment = size > 8192 && random.chance(0.5);
  const textBytes = withAttachment ? Math.floor(size * 0.3) : size;
  const body = bodyText(random, Math.max(64, textBytes));
  const bodyWords = body.slice(0, 400).split(/\s+/).filter(Boolean);
  let raw: string;
  if (withAttachment) {
    const boundary = `=_${random.uuid()}`;
    const attachment = attachmentBytes(random, Math.floor(size * 0.6));
    raw =
      headers.join('\r\n') +
      `\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      body +
      `\r\n--${boundary}\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
      (attachment.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') +
      `\r\n--${boundary}--\r\n`;
  } else {
    raw = headers.join('\r\n') + '\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' + body;
  }
  return {
    raw: Buffer.from(raw, 'utf8'),
    subject,
    sender,
    recipients: to,
    date: at,
    messageId,
    words: [...subjectWords, ...bodyWords.slice(0, 40)],
    bodyText: body,
  };
}
