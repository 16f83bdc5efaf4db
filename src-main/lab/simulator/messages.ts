import type { Random } from './random';

/** A delivered message as the MTA hands it to LMTP: RFC 5322 bytes plus envelope facts. */
export interface GeneratedMessage {
  raw: Buffer;
  subject: string;
  sender: string;
  recipients: string[];
  date: Date;
  messageId: string;
  words: string[];
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
  const bodyWords = sentence(random, Math.max(8, Math.floor(size / 16)));
  let body = bodyWords.join(' ').replace(/(.{1,72})(\s|$)/g, '$1\r\n');
  let raw: string;
  if (size > 8192 && random.chance(0.5)) {
    const boundary = `=_${random.uuid()}`;
    const attachment = Buffer.alloc(Math.floor(size * 0.6));
    for (let i = 0; i < attachment.length; i++) attachment[i] = random.int(0, 255);
    body = body.slice(0, Math.floor(size * 0.3));
    raw =
      headers.join('\r\n') +
      `\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      body +
      `\r\n--${boundary}\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
      (attachment.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') +
      `\r\n--${boundary}--\r\n`;
  } else {
    raw = headers.join('\r\n') + '\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' + body.slice(0, Math.max(64, size));
  }
  return { raw: Buffer.from(raw, 'utf8'), subject, sender, recipients: to, date: at, messageId, words: [...subjectWords, ...bodyWords.slice(0, 40)] };
}
