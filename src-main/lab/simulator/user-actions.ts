import fs from 'node:fs';
import { countIn, isAvailable, type SimContext } from './context';
import { logged, transaction } from './logged-change';
import * as rows from './mailbox';
import type { SimFolder, SimMailbox, SimMessage } from './mailbox';
import * as ops from './redo-ops';
import { FLAG, flagBit, FOLDER } from './system-folders';

/**
 * What a user does in a mailbox through the web client, each a logged change on random items:
 * read and flag, move, tag, delete, and create, rename and empty folders. Nothing happens to a
 * mailbox whose account is in maintenance (the user cannot log in).
 */

async function userAction<T>(
  sim: SimContext,
  m: SimMailbox,
  action: () => Promise<T>,
): Promise<T | undefined> {
  return m.exclusive(async () => {
    // In maintenance the user cannot log in: nothing happens to the mailbox.
    if (!(await isAvailable(sim, m))) {
      sim.stats.skippedInMaintenance++;
      return undefined;
    }
    return action();
  });
}

function pickMessage(
  sim: SimContext,
  m: SimMailbox,
  filter: (x: SimMessage) => boolean = () => true,
): SimMessage | undefined {
  const candidates = [...m.messages.values()].filter(filter);
  return candidates.length ? sim.random.pick(candidates) : undefined;
}

export async function setFlag(sim: SimContext, m: SimMailbox, flagId: number, on: boolean): Promise<void> {
  await userAction(sim, m, async () => {
    const msg = pickMessage(sim, m, (x) =>
      flagId === FLAG.unread ? x.unread !== on : Boolean(x.flags & flagBit(flagId)) !== on,
    );
    if (!msg) return;
    const changeId = m.nextChangeId();
    await logged(sim, m, ops.alterItemTag(msg, flagId, on), changeId, async (at) => {
      const folder = m.folders.get(msg.folderId)!;
      if (flagId === FLAG.unread) {
        folder.unread += on ? 1 : -1;
        msg.unread = on;
      } else msg.flags = on ? msg.flags | flagBit(flagId) : msg.flags & ~flagBit(flagId);
      await transaction(sim, async (c) => {
        await rows.updateFlags(c, m, msg, changeId, at);
        await rows.saveCounters(c, m, [msg.folderId]);
      });
    });
  });
}

export async function move(sim: SimContext, m: SimMailbox, count: number): Promise<void> {
  await userAction(sim, m, async () => {
    const targets = [FOLDER.inbox, FOLDER.trash, FOLDER.junk, ...m.userFolders().map((f) => f.id)];
    const to = sim.random.pick(targets);
    const picked = new Set<SimMessage>();
    for (let i = 0; i < count; i++) {
      const msg = pickMessage(sim, m, (x) => x.folderId !== to && !picked.has(x));
      if (msg) picked.add(msg);
    }
    if (picked.size === 0) return;
    const items = [...picked];
    const changeId = m.nextChangeId();
    await logged(
      sim,
      m,
      ops.moveItem(
        items.map((x) => x.id),
        to,
      ),
      changeId,
      async (at) => {
        const from = new Map(items.map((x) => [x.id, x.folderId]));
        const touched = new Set([to, ...from.values()]);
        for (const x of items) {
          countIn(m, x, -1);
          x.folderId = to;
          countIn(m, x, 1);
        }
        await transaction(sim, async (c) => {
          await rows.moveMessages(
            c,
            m,
            items.map((x) => x.id),
            from,
            to,
            changeId,
            at,
          );
          await rows.saveCounters(c, m, touched);
        });
      },
    );
  });
}

export async function tag(sim: SimContext, m: SimMailbox): Promise<void> {
  await userAction(sim, m, async () => {
    const msg = pickMessage(sim, m);
    if (!msg) return;
    const name = sim.random.pick(['work', 'personal', 'urgent', 'later', 'finance']);
    let tag = m.tags.get(name);
    if (!tag) {
      const created = { id: 64 + m.tags.size, name, color: sim.random.int(0, 9) };
      const changeId = m.nextChangeId();
      const ok = await logged(sim, m, ops.createTag(created), changeId, async () => {
        m.tags.set(name, created);
        await transaction(sim, async (c) => {
          await rows.insertTag(c, m, created, changeId);
          await rows.saveCounters(c, m, []);
        });
        return true;
      });
      if (!ok) return;
      tag = created;
    }
    const on = !msg.tags.includes(name);
    const next = on ? [...msg.tags, name] : msg.tags.filter((t) => t !== name);
    const changeId = m.nextChangeId();
    const theTag = tag;
    await logged(sim, m, ops.setItemTags(msg, next), changeId, async (at) => {
      msg.tags = next;
      await transaction(sim, async (c) => {
        await rows.updateFlags(c, m, msg, changeId, at);
        await rows.setTagged(c, m, theTag, msg.id, on);
        await rows.saveCounters(c, m, []);
      });
    });
  });
}

async function removeMessages(
  sim: SimContext,
  m: SimMailbox,
  items: SimMessage[],
  changeId: number,
  at: number,
): Promise<void> {
  for (const x of items) {
    countIn(m, x, -1);
    m.messages.delete(x.id);
  }
  const tags = new Set(items.flatMap((x) => x.tags));
  await transaction(sim, async (c) => {
    await rows.deleteMessages(
      c,
      m,
      items.map((x) => x.id),
      changeId,
      at,
    );
    // Deleted items no longer count for their tags.
    for (const name of tags) {
      const tag = m.tags.get(name);
      if (tag) await rows.saveTagCount(c, m, tag);
    }
    await rows.saveCounters(c, m, new Set(items.map((x) => x.folderId)));
  });
  // Blobs go after the rows commit, as Zimbra deletes files at transaction end.
  await Promise.all(items.map((x) => fs.promises.rm(x.blobPath, { force: true })));
  m.index.delete(items.map((x) => x.id));
}

export async function deleteMessages(sim: SimContext, m: SimMailbox, count: number): Promise<void> {
  await userAction(sim, m, async () => {
    const items = new Set<SimMessage>();
    for (let i = 0; i < count; i++) {
      const msg = pickMessage(sim, m, (x) => !items.has(x));
      if (msg) items.add(msg);
    }
    if (items.size === 0) return;
    const changeId = m.nextChangeId();
    await logged(sim, m, ops.deleteItem([...items].map((x) => x.id)), changeId, (at) =>
      removeMessages(sim, m, [...items], changeId, at),
    );
  });
}

export async function emptyFolder(sim: SimContext, m: SimMailbox, folderId: number): Promise<void> {
  await userAction(sim, m, async () => {
    const items = [...m.messages.values()].filter((x) => x.folderId === folderId);
    const changeId = m.nextChangeId();
    await logged(sim, m, ops.emptyFolder(folderId), changeId, (at) =>
      removeMessages(sim, m, items, changeId, at),
    );
  });
}

export async function createFolder(
  sim: SimContext,
  m: SimMailbox,
  name?: string,
): Promise<SimFolder | undefined> {
  return userAction(sim, m, async () => {
    const parent = sim.random.chance(0.7)
      ? FOLDER.userRoot
      : sim.random.pick([FOLDER.inbox, ...m.userFolders().map((f) => f.id)]);
    const folderName =
      name ??
      `${sim.random.pick(['Projects', 'Archive', 'Clients', 'Reports', 'Travel'])} ${sim.random.int(1, 9999)}`;
    if ([...m.folders.values()].some((f) => f.parent === parent && f.name === folderName)) return undefined;
    const folder: SimFolder = {
      id: m.nextItemId(),
      name: folderName,
      parent,
      view: 5,
      count: 0,
      unread: 0,
    };
    const uuid = sim.random.uuid();
    const changeId = m.nextChangeId();
    const ok = await logged(sim, m, ops.createFolder(folder, uuid), changeId, async (at) => {
      await transaction(sim, async (c) => {
        await rows.insertFolder(c, m, folder, changeId, uuid, at);
        await rows.saveCounters(c, m, []);
      });
      m.folders.set(folder.id, folder);
      return folder;
    });
    if (!ok) m.lastItemId--;
    return ok;
  });
}

export async function renameFolder(sim: SimContext, m: SimMailbox): Promise<void> {
  await userAction(sim, m, async () => {
    const folders = m.userFolders();
    if (folders.length === 0) return;
    const folder = sim.random.pick(folders);
    const name = `${folder.name.split(' (')[0]} (${sim.random.int(1, 999)})`;
    if ([...m.folders.values()].some((f) => f.parent === folder.parent && f.name === name)) return;
    const changeId = m.nextChangeId();
    await logged(sim, m, ops.renameFolder(folder, name), changeId, async (at) => {
      folder.name = name;
      await transaction(sim, async (c) => {
        await rows.renameFolder(c, m, folder, changeId, at);
        await rows.saveCounters(c, m, []);
      });
    });
  });
}
