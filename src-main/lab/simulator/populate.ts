import fs from 'node:fs';
import path from 'node:path';
import { countIn, type SimContext } from './context';
import { messageRow, newMessage, randomSize } from './delivery';
import { transaction } from './logged-change';
import * as rows from './mailbox';
import type { SimMailbox, SimMessage } from './mailbox';
import { generateMessage, type GeneratedMessage } from './messages';
import { Random } from './random';
import type { PreparedOp } from './redo-manager';
import * as ops from './redo-ops';
import { FLAG, flagBit, FOLDER } from './system-folders';

/**
 * Bulk delivery for setting a lab up: the same rows, blobs, index and redo records as one by one
 * delivery, batched (one transaction and one group commit per batch), mailboxes in parallel.
 * Each mailbox draws from its own seeded stream, so the result does not depend on the order the
 * parallel workers happen to run in.
 */
export async function populate(
  sim: SimContext,
  messagesPerMailbox: number,
  options: { concurrency?: number; batch?: number } = {},
): Promise<void> {
  const queue = [...sim.mailboxes.values()];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift())
      await populateOne(sim, m, messagesPerMailbox, options.batch ?? 100);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
}

function populateOne(sim: SimContext, m: SimMailbox, count: number, batch: number): Promise<void> {
  return m.exclusive(async () => {
    const random = new Random(`${sim.options.seed ?? 1}:${m.email}`);
    for (let done = 0; done < count; done += batch) {
      const chunk: Array<{ msg: SimMessage; g: GeneratedMessage; prepared: PreparedOp }> = [];
      for (let i = 0; i < Math.min(batch, count - done); i++) {
        const g = generateMessage(random, [m.email], randomSize(random), new Date());
        const folderId = random.chance(0.15) ? FOLDER.sent : FOLDER.inbox;
        const msg = newMessage(sim, m, g, folderId, folderId === FOLDER.sent ? flagBit(FLAG.fromMe) : 0);
        chunk.push({
          msg,
          g,
          prepared: await sim.redo.prepare(
            ops.createMessage(m, msg, g, { inline: g.raw }),
            m.mailboxId,
            msg.modContent,
          ),
        });
      }
      await Promise.all(
        chunk.map(async ({ msg, g }) => {
          await fs.promises.mkdir(path.dirname(msg.blobPath), { recursive: true });
          await fs.promises.writeFile(msg.blobPath, g.raw);
        }),
      );
      for (const { msg } of chunk) {
        m.messages.set(msg.id, msg);
        countIn(m, msg, 1);
      }
      await transaction(sim, async (c) => {
        await rows.insertMessages(
          c,
          m,
          chunk.map(({ msg, g, prepared }) =>
            messageRow(sim, msg, g, Math.floor(prepared.op.header.timestamp / 1000)),
          ),
        );
        await rows.saveCounters(c, m, [FOLDER.inbox, FOLDER.sent]);
      });
      // One group commit (one fsync) for the whole batch, as mailboxd's concurrent deliveries get.
      const committed = await Promise.all(chunk.map(({ prepared }) => sim.redo.commit(prepared)));
      const last = chunk[chunk.length - 1];
      if (last) m.lastCommit = { ms: Math.max(...committed), changeId: last.msg.modContent };
      m.index.addBatch(chunk.map(({ msg, g }) => ({ itemId: msg.id, words: g.words })));
      sim.stats.delivered += chunk.length;
    }
    m.index.commit();
  });
}
