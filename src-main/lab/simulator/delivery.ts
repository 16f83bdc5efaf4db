import fs from 'node:fs';
import path from 'node:path';
import { blobDigest } from '../../engine/server/blob-digest';
import { blobPath } from '../../engine/server/volumes';
import { fragmentOf, normalizeSubject } from '../../engine/replay/parsed-message';
import { countIn, isAvailable, type SimContext } from './context';
import { logged, transaction } from './logged-change';
import * as rows from './mailbox';
import type { SimMailbox, SimMessage } from './mailbox';
import { generateMessage, type GeneratedMessage } from './messages';
import type { Random } from './random';
import * as ops from './redo-ops';
import { FOLDER } from './system-folders';

/**
 * Mail arriving as LMTP delivers it: a blob at Zimbra's path (one blob hard-linked into each
 * mailbox for several local recipients), the message row, the index, the redo records; deferred,
 * as an MTA does on a 4xx, while the account is in maintenance or when the delivery fails.
 */

/** A new message's item: its id, its blob at the message volume's path for this revision. */
export function newMessage(
  sim: SimContext,
  m: SimMailbox,
  g: GeneratedMessage,
  folderId: number,
  flags: number,
): SimMessage {
  const id = m.nextItemId();
  const changeId = m.nextChangeId();
  return {
    id,
    folderId,
    flags,
    unread: folderId === FOLDER.inbox,
    tags: [],
    size: g.raw.length,
    modContent: changeId,
    digest: blobDigest(g.raw),
    blobPath: blobPath(sim.messageVolume, m.mailboxId, id, changeId),
  };
}

/** The row Message.create writes, from what ParsedMessage reads out of the delivered message. */
export function messageRow(
  sim: SimContext,
  msg: SimMessage,
  g: GeneratedMessage,
  at: number,
): rows.NewMessageRow {
  return {
    message: msg,
    date: Math.floor(g.date.getTime() / 1000),
    changeDate: at,
    locator: String(sim.messageVolume.id),
    sender: g.sender,
    recipients: g.recipients.join(', '),
    subject: normalizeSubject(g.subject),
    rawSubject: g.subject,
    fragment: fragmentOf(g.bodyText),
    changeId: msg.modContent,
  };
}

export function randomSize(random: Random): number {
  // Mostly small mail, a long tail of attachments (sizes as mailbox statistics usually show).
  return random.chance(0.85) ? random.int(1_500, 12_000) : random.int(20_000, 200_000);
}

/** Delivers one message to one mailbox (LMTP to a single recipient), unless it is in maintenance. */
async function deliverTo(
  sim: SimContext,
  m: SimMailbox,
  g: GeneratedMessage,
  linkFrom?: { path: string },
): Promise<boolean> {
  return m.exclusive(async () => {
    if (!(await isAvailable(sim, m))) {
      sim.deferred.push({ email: m.email, message: g });
      sim.stats.deferred++;
      return false;
    }
    const msg = newMessage(sim, m, g, FOLDER.inbox, 0);
    const body = linkFrom
      ? ops.createMessage(m, msg, g, { link: linkFrom.path })
      : ops.createMessage(m, msg, g, { inline: g.raw });
    const done = await logged(sim, m, body, msg.modContent, async (at) => {
      await fs.promises.mkdir(path.dirname(msg.blobPath), { recursive: true });
      if (linkFrom) await fs.promises.link(linkFrom.path, msg.blobPath);
      else await fs.promises.writeFile(msg.blobPath, g.raw);
      m.messages.set(msg.id, msg);
      countIn(m, msg, 1);
      await transaction(sim, async (c) => {
        await rows.insertMessages(c, m, [messageRow(sim, msg, g, at)]);
        await rows.saveCounters(c, m, [msg.folderId]);
      });
      m.index.add(msg.id, g.words);
      return true;
    });
    if (done) {
      sim.stats.delivered++;
      return true;
    }
    // A failed delivery is a 4xx to the MTA, which keeps the message and tries again later.
    m.lastItemId--;
    sim.deferred.push({ email: m.email, message: g });
    sim.stats.deferred++;
    return false;
  });
}

/** A message to several local recipients: one blob stored once (StoreIncomingBlob), hard-linked into each mailbox. */
export async function deliver(sim: SimContext, recipients: SimMailbox[], size: number): Promise<void> {
  const g = generateMessage(
    sim.random,
    recipients.map((r) => r.email),
    size,
    new Date(),
  );
  if (recipients.length === 1) {
    await deliverTo(sim, recipients[0]!, g);
    return;
  }
  const staging = path.join(
    sim.messageVolume.path,
    'incoming',
    `${Date.now()}-${sim.random.int(0, 1e9)}.msg`,
  );
  await fs.promises.mkdir(path.dirname(staging), { recursive: true });
  await fs.promises.writeFile(staging, g.raw);
  const prepared = await sim.redo.prepare(
    ops.storeIncomingBlob(
      recipients.map((r) => r.mailboxId),
      g.raw,
      staging,
    ),
    -1,
    -1,
  );
  await sim.redo.commit(prepared);
  try {
    for (const r of recipients) await deliverTo(sim, r, g, { path: staging });
  } finally {
    await fs.promises.rm(staging, { force: true });
  }
}

/** Retries deferred deliveries (the MTA's queue run); returns how many are still deferred. */
export async function flushDeferred(sim: SimContext): Promise<number> {
  const pending = sim.deferred;
  sim.deferred = [];
  for (const d of pending) {
    const m = sim.mailboxes.get(d.email);
    if (m) await deliverTo(sim, m, d.message);
  }
  return sim.deferred.length;
}
