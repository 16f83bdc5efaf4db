import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import mysql, { type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { blobDigest } from '../../engine/server/blob-digest';
import {
  blobPath,
  indexDir,
  mailboxGroupDb,
  VOLUME_TYPE,
  volumeFromRow,
  type Volume,
} from '../../engine/server/volumes';
import type { LabServerInfo } from '../types';
import { homePaths } from '../zimbra-home';
import { accountEntry, accountsOnServer, accountStatus, addEntry } from './accounts';
import { generateMessage, type GeneratedMessage } from './messages';
import * as rows from './mailbox';
import { SimMailbox, type SimFolder, type SimMessage } from './mailbox';
import { loadMailbox } from './load-mailbox';
import { Random } from './random';
import { RedoManager, type PreparedOp } from './redo-manager';
import * as ops from './redo-ops';
import { SearchIndex } from './search-index';
import { FLAG, flagBit, FOLDER } from './system-folders';
import { fragmentOf, normalizeSubject } from '../../engine/replay/parsed-message';

/**
 * Plays mailboxd on a lab server, deterministically from a seed: provisions accounts, delivers
 * mail (blobs at Zimbra's paths, hard links for shared deliveries, index segments), and moves,
 * flags, tags, deletes and reorganises folders, logging every change as Zimbra redo records
 * (op, then CommitTxn; a few aborted or abandoned). It honours maintenance mode: deliveries to an
 * account in maintenance are deferred, as an MTA does on LMTP 4xx, and delivered after.
 */
export interface SimulatorOptions {
  seed?: number | string;
  /** redo.log rollover size; Zimbra's default is 1 GiB, the lab rolls over much sooner. */
  rolloverBytes?: number;
  /** Probability that an operation is aborted / left without commit (a crash mid-transaction). */
  abortRate?: number;
  abandonRate?: number;
}

export interface SimStats {
  delivered: number;
  deferred: number;
  operations: number;
  aborted: number;
  abandoned: number;
  skippedInMaintenance: number;
}

interface Deferred {
  email: string;
  message: GeneratedMessage;
}

export type ActivityKind =
  | 'deliver'
  | 'deliverShared'
  | 'read'
  | 'flag'
  | 'move'
  | 'tag'
  | 'delete'
  | 'createFolder'
  | 'renameFolder'
  | 'emptyFolder';

const DEFAULT_WEIGHTS: Record<ActivityKind, number> = {
  deliver: 40,
  deliverShared: 6,
  read: 14,
  flag: 8,
  move: 10,
  tag: 6,
  delete: 9,
  createFolder: 3,
  renameFolder: 2,
  emptyFolder: 2,
};

export class MailboxSimulator {
  readonly mailboxes = new Map<string, SimMailbox>();
  readonly stats: SimStats = {
    delivered: 0,
    deferred: 0,
    operations: 0,
    aborted: 0,
    abandoned: 0,
    skippedInMaintenance: 0,
  };
  private deferred: Deferred[] = [];
  private readonly random: Random;

  private constructor(
    readonly server: LabServerInfo,
    readonly db: Pool,
    readonly ldap: Client,
    readonly redo: RedoManager,
    private readonly messageVolume: Volume,
    private readonly indexVolume: Volume,
    private readonly groups: number,
    private readonly options: SimulatorOptions,
  ) {
    this.random = new Random(options.seed ?? 1);
  }

  static async open(server: LabServerInfo, options: SimulatorOptions = {}): Promise<MailboxSimulator> {
    const db = mysql.createPool({
      socketPath: server.mariadb.socket,
      user: server.mariadb.user,
      password: server.mariadb.password,
      connectionLimit: 8,
      multipleStatements: false,
    });
    const ldap = new Client({ url: server.ldap.url });
    await ldap.bind(server.ldap.bindDn, server.ldap.password);
    const [volumes] = await db.query<RowDataPacket[]>(
      'SELECT v.* , cv.message_volume_id, cv.index_volume_id FROM zimbra.volume v JOIN zimbra.current_volumes cv',
    );
    const current = volumes[0];
    const byId = (id: unknown) => volumeFromRow(volumes.find((v) => Number(v.id) === Number(id))!);
    const [groupRows] = await db.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mboxgroup%'",
    );
    const { searchEntries } = await ldap.search(`cn=${server.hostname},cn=servers,cn=zimbra`, {
      scope: 'base',
      attributes: ['zimbraId'],
    });
    const p = homePaths(server.zimbraHome);
    const redo = await RedoManager.open({
      redoLog: p.redoLog,
      archiveDir: p.redoArchive,
      serverId: String(searchEntries[0]?.zimbraId ?? server.hostname),
      rolloverBytes: options.rolloverBytes ?? 16 * 1024 * 1024,
    });
    const sim = new MailboxSimulator(
      server,
      db,
      ldap,
      redo,
      byId(current?.message_volume_id),
      byId(current?.index_volume_id),
      Number(groupRows[0]?.n ?? 100),
      options,
    );
    if (sim.messageVolume.type !== VOLUME_TYPE.primaryMessage)
      throw new Error('current message volume is not a primary message volume');
    for (const account of await accountsOnServer(ldap, server.ldap.baseDn, server.hostname)) {
      const loaded = await loadMailbox(
        db,
        account,
        (id) => mailboxGroupDb(id, sim.groups),
        (id) => new SearchIndex(indexDir(sim.indexVolume, id)),
        (id, itemId, rev) => blobPath(sim.messageVolume, id, itemId, rev),
      );
      if (loaded) sim.mailboxes.set(account.email, loaded);
    }
    return sim;
  }

  private async transaction<T>(work: (c: PoolConnection) => Promise<T>): Promise<T> {
    const c = await this.db.getConnection();
    try {
      await c.beginTransaction();
      const result = await work(c);
      await c.commit();
      return result;
    } catch (error) {
      await c.rollback().catch(() => undefined);
      throw error;
    } finally {
      c.release();
    }
  }

  /** Runs a logged change: prepare record, the change, CommitTxn (or, by chance, abort/abandon). */
  private async logged<T>(
    m: SimMailbox,
    body: ops.OpBody,
    changeId: number,
    apply: (at: number) => Promise<T>,
  ): Promise<T | undefined> {
    const prepared: PreparedOp = await this.redo.prepare(body, m.mailboxId, changeId);
    if (this.random.chance(this.options.abortRate ?? 0.01)) {
      this.stats.aborted++;
      m.lastChangeId--;
      await this.redo.abort(prepared);
      return undefined;
    }
    if (this.random.chance(this.options.abandonRate ?? 0.005)) {
      this.stats.abandoned++;
      m.lastChangeId--;
      this.redo.abandon(prepared);
      return undefined;
    }
    // Mailbox.beginTransaction takes the op's timestamp: every date a change writes is this one.
    const result = await apply(Math.floor(prepared.op.header.timestamp / 1000));
    m.lastCommit = { ms: await this.redo.commit(prepared), changeId };
    this.stats.operations++;
    return result;
  }

  // ---- accounts -------------------------------------------------------------------------

  async provision(localParts: string[]): Promise<SimMailbox[]> {
    const created: SimMailbox[] = [];
    for (const local of localParts) {
      const email = `${local}@${this.server.ldap.baseDn
        .split(',')
        .map((p) => p.slice(3))
        .join('.')}`;
      const zimbraId = this.random.uuid();
      await addEntry(
        this.ldap,
        accountEntry(email, zimbraId, this.server.hostname, `pw-${zimbraId.slice(0, 8)}`),
      );
      const mailboxId = await this.transaction(async (c) => {
        const [cv] = await c.query<RowDataPacket[]>(
          'SELECT next_mailbox_id FROM zimbra.current_volumes FOR UPDATE',
        );
        const id = Number(cv[0]?.next_mailbox_id ?? 1);
        await c.query('UPDATE zimbra.current_volumes SET next_mailbox_id = ?', [id + 1]);
        return id;
      });
      const m = new SimMailbox(
        email,
        zimbraId,
        mailboxId,
        mailboxGroupDb(mailboxId, this.groups),
        new SearchIndex(indexDir(this.indexVolume, mailboxId)),
      );
      const prepared = await this.redo.prepare(ops.createMailbox(zimbraId), mailboxId, 1);
      const at = Math.floor(prepared.op.header.timestamp / 1000);
      await this.transaction((c) => rows.insertNewMailbox(c, m, this.groups, this.indexVolume.id, at));
      m.lastCommit = { ms: await this.redo.commit(prepared), changeId: 1 };
      this.mailboxes.set(email, m);
      created.push(m);
    }
    return created;
  }

  private async isAvailable(m: SimMailbox): Promise<boolean> {
    return (await accountStatus(this.ldap, m.email)) !== 'maintenance';
  }

  // ---- delivery -------------------------------------------------------------------------

  private newMessage(m: SimMailbox, g: GeneratedMessage, folderId: number, flags: number): SimMessage {
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
      blobPath: blobPath(this.messageVolume, m.mailboxId, id, changeId),
    };
  }

  private countIn(m: SimMailbox, msg: SimMessage, sign: 1 | -1): void {
    const folder = m.folders.get(msg.folderId)!;
    folder.count += sign;
    if (msg.unread) folder.unread += sign;
    m.totalSize += sign * msg.size;
  }

  /** The row Message.create writes, from what ParsedMessage reads out of the delivered message. */
  private messageRow(msg: SimMessage, g: GeneratedMessage, at: number): rows.NewMessageRow {
    return {
      message: msg,
      date: Math.floor(g.date.getTime() / 1000),
      changeDate: at,
      locator: String(this.messageVolume.id),
      sender: g.sender,
      recipients: g.recipients.join(', '),
      subject: normalizeSubject(g.subject),
      rawSubject: g.subject,
      fragment: fragmentOf(g.bodyText),
      changeId: msg.modContent,
    };
  }

  /** Delivers one message to one mailbox (LMTP to a single recipient), unless it is in maintenance. */
  private async deliverTo(m: SimMailbox, g: GeneratedMessage, linkFrom?: { path: string }): Promise<boolean> {
    return m.exclusive(async () => {
      if (!(await this.isAvailable(m))) {
        this.deferred.push({ email: m.email, message: g });
        this.stats.deferred++;
        return false;
      }
      const msg = this.newMessage(m, g, FOLDER.inbox, 0);
      const body = linkFrom
        ? ops.createMessage(m, msg, g, { link: linkFrom.path })
        : ops.createMessage(m, msg, g, { inline: g.raw });
      const done = await this.logged(m, body, msg.modContent, async (at) => {
        await fs.promises.mkdir(path.dirname(msg.blobPath), { recursive: true });
        if (linkFrom) await fs.promises.link(linkFrom.path, msg.blobPath);
        else await fs.promises.writeFile(msg.blobPath, g.raw);
        m.messages.set(msg.id, msg);
        this.countIn(m, msg, 1);
        await this.transaction(async (c) => {
          await rows.insertMessages(c, m, [this.messageRow(msg, g, at)]);
          await rows.saveCounters(c, m, [msg.folderId]);
        });
        m.index.add(msg.id, g.words);
        return true;
      });
      if (done) {
        this.stats.delivered++;
        return true;
      }
      // A failed delivery is a 4xx to the MTA, which keeps the message and tries again later.
      m.lastItemId--;
      this.deferred.push({ email: m.email, message: g });
      this.stats.deferred++;
      return false;
    });
  }

  /** A message to several local recipients: one blob stored once (StoreIncomingBlob), hard-linked into each mailbox. */
  async deliver(recipients: SimMailbox[], size = this.randomSize()): Promise<void> {
    const g = generateMessage(
      this.random,
      recipients.map((r) => r.email),
      size,
      new Date(),
    );
    if (recipients.length === 1) {
      await this.deliverTo(recipients[0]!, g);
      return;
    }
    const staging = path.join(
      this.messageVolume.path,
      'incoming',
      `${Date.now()}-${this.random.int(0, 1e9)}.msg`,
    );
    await fs.promises.mkdir(path.dirname(staging), { recursive: true });
    await fs.promises.writeFile(staging, g.raw);
    const prepared = await this.redo.prepare(
      ops.storeIncomingBlob(
        recipients.map((r) => r.mailboxId),
        g.raw,
        staging,
      ),
      -1,
      -1,
    );
    await this.redo.commit(prepared);
    try {
      for (const r of recipients) await this.deliverTo(r, g, { path: staging });
    } finally {
      await fs.promises.rm(staging, { force: true });
    }
  }

  /** Bulk delivery for setting a lab up: the same rows, blobs, index and redo records, batched. */
  async populate(
    messagesPerMailbox: number,
    options: { concurrency?: number; batch?: number } = {},
  ): Promise<void> {
    const queue = [...this.mailboxes.values()];
    const worker = async () => {
      for (let m = queue.shift(); m; m = queue.shift())
        await this.populateOne(m, messagesPerMailbox, options.batch ?? 100);
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  }

  private populateOne(m: SimMailbox, count: number, batch: number): Promise<void> {
    return m.exclusive(async () => {
      const random = new Random(`${this.options.seed ?? 1}:${m.email}`);
      for (let done = 0; done < count; done += batch) {
        const chunk: Array<{ msg: SimMessage; g: GeneratedMessage; prepared: PreparedOp }> = [];
        for (let i = 0; i < Math.min(batch, count - done); i++) {
          const g = generateMessage(random, [m.email], this.randomSize(random), new Date());
          const folderId = random.chance(0.15) ? FOLDER.sent : FOLDER.inbox;
          const msg = this.newMessage(m, g, folderId, folderId === FOLDER.sent ? flagBit(FLAG.fromMe) : 0);
          chunk.push({
            msg,
            g,
            prepared: await this.redo.prepare(
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
          this.countIn(m, msg, 1);
        }
        await this.transaction(async (c) => {
          await rows.insertMessages(
            c,
            m,
            chunk.map(({ msg, g, prepared }) =>
              this.messageRow(msg, g, Math.floor(prepared.op.header.timestamp / 1000)),
            ),
          );
          await rows.saveCounters(c, m, [FOLDER.inbox, FOLDER.sent]);
        });
        // One group commit (one fsync) for the whole batch, as mailboxd's concurrent deliveries get.
        const committed = await Promise.all(chunk.map(({ prepared }) => this.redo.commit(prepared)));
        const last = chunk[chunk.length - 1];
        if (last) m.lastCommit = { ms: Math.max(...committed), changeId: last.msg.modContent };
        m.index.addBatch(chunk.map(({ msg, g }) => ({ itemId: msg.id, words: g.words })));
        this.stats.delivered += chunk.length;
      }
      m.index.commit();
    });
  }

  private randomSize(random = this.random): number {
    // Mostly small mail, a long tail of attachments (sizes as mailbox statistics usually show).
    return random.chance(0.85) ? random.int(1_500, 12_000) : random.int(20_000, 200_000);
  }

  /** Retries deferred deliveries (the MTA's queue run); returns how many are still deferred. */
  async flushDeferred(): Promise<number> {
    const pending = this.deferred;
    this.deferred = [];
    for (const d of pending) {
      const m = this.mailboxes.get(d.email);
      if (m) await this.deliverTo(m, d.message);
    }
    return this.deferred.length;
  }

  get deferredCount(): number {
    return this.deferred.length;
  }

  // ---- user actions ---------------------------------------------------------------------

  private async userAction<T>(m: SimMailbox, action: () => Promise<T>): Promise<T | undefined> {
    return m.exclusive(async () => {
      // In maintenance the user cannot log in: nothing happens to the mailbox.
      if (!(await this.isAvailable(m))) {
        this.stats.skippedInMaintenance++;
        return undefined;
      }
      return action();
    });
  }

  private pickMessage(
    m: SimMailbox,
    filter: (x: SimMessage) => boolean = () => true,
  ): SimMessage | undefined {
    const candidates = [...m.messages.values()].filter(filter);
    return candidates.length ? this.random.pick(candidates) : undefined;
  }

  async setFlag(m: SimMailbox, flagId: number, on: boolean): Promise<void> {
    await this.userAction(m, async () => {
      const msg = this.pickMessage(m, (x) =>
        flagId === FLAG.unread ? x.unread !== on : Boolean(x.flags & flagBit(flagId)) !== on,
      );
      if (!msg) return;
      const changeId = m.nextChangeId();
      await this.logged(m, ops.alterItemTag(msg, flagId, on), changeId, async (at) => {
        const folder = m.folders.get(msg.folderId)!;
        if (flagId === FLAG.unread) {
          folder.unread += on ? 1 : -1;
          msg.unread = on;
        } else msg.flags = on ? msg.flags | flagBit(flagId) : msg.flags & ~flagBit(flagId);
        await this.transaction(async (c) => {
          await rows.updateFlags(c, m, msg, changeId, at);
          await rows.saveCounters(c, m, [msg.folderId]);
        });
      });
    });
  }

  async move(m: SimMailbox, count = 1): Promise<void> {
    await this.userAction(m, async () => {
      const targets = [FOLDER.inbox, FOLDER.trash, FOLDER.junk, ...m.userFolders().map((f) => f.id)];
      const to = this.random.pick(targets);
      const picked = new Set<SimMessage>();
      for (let i = 0; i < count; i++) {
        const msg = this.pickMessage(m, (x) => x.folderId !== to && !picked.has(x));
        if (msg) picked.add(msg);
      }
      if (picked.size === 0) return;
      const items = [...picked];
      const changeId = m.nextChangeId();
      await this.logged(
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
            this.countIn(m, x, -1);
            x.folderId = to;
            this.countIn(m, x, 1);
          }
          await this.transaction(async (c) => {
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

  async tag(m: SimMailbox): Promise<void> {
    await this.userAction(m, async () => {
      const msg = this.pickMessage(m);
      if (!msg) return;
      const name = this.random.pick(['work', 'personal', 'urgent', 'later', 'finance']);
      let tag = m.tags.get(name);
      if (!tag) {
        const created = { id: 64 + m.tags.size, name, color: this.random.int(0, 9) };
        const changeId = m.nextChangeId();
        const ok = await this.logged(m, ops.createTag(created), changeId, async () => {
          m.tags.set(name, created);
          await this.transaction(async (c) => {
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
      await this.logged(m, ops.setItemTags(msg, next), changeId, async (at) => {
        msg.tags = next;
        await this.transaction(async (c) => {
          await rows.updateFlags(c, m, msg, changeId, at);
          await rows.setTagged(c, m, theTag, msg.id, on);
          await rows.saveCounters(c, m, []);
        });
      });
    });
  }

  private async removeMessages(
    m: SimMailbox,
    items: SimMessage[],
    changeId: number,
    at: number,
  ): Promise<void> {
    for (const x of items) {
      this.countIn(m, x, -1);
      m.messages.delete(x.id);
    }
    const tags = new Set(items.flatMap((x) => x.tags));
    await this.transaction(async (c) => {
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

  async delete(m: SimMailbox, count = 1): Promise<void> {
    await this.userAction(m, async () => {
      const items = new Set<SimMessage>();
      for (let i = 0; i < count; i++) {
        const msg = this.pickMessage(m, (x) => !items.has(x));
        if (msg) items.add(msg);
      }
      if (items.size === 0) return;
      const changeId = m.nextChangeId();
      await this.logged(m, ops.deleteItem([...items].map((x) => x.id)), changeId, (at) =>
        this.removeMessages(m, [...items], changeId, at),
      );
    });
  }

  async emptyFolder(m: SimMailbox, folderId = FOLDER.trash): Promise<void> {
    await this.userAction(m, async () => {
      const items = [...m.messages.values()].filter((x) => x.folderId === folderId);
      const changeId = m.nextChangeId();
      await this.logged(m, ops.emptyFolder(folderId), changeId, (at) =>
        this.removeMessages(m, items, changeId, at),
      );
    });
  }

  async createFolder(m: SimMailbox, name?: string): Promise<SimFolder | undefined> {
    return this.userAction(m, async () => {
      const parent = this.random.chance(0.7)
        ? FOLDER.userRoot
        : this.random.pick([FOLDER.inbox, ...m.userFolders().map((f) => f.id)]);
      const folderName =
        name ??
        `${this.random.pick(['Projects', 'Archive', 'Clients', 'Reports', 'Travel'])} ${this.random.int(1, 9999)}`;
      if ([...m.folders.values()].some((f) => f.parent === parent && f.name === folderName)) return undefined;
      const folder: SimFolder = {
        id: m.nextItemId(),
        name: folderName,
        parent,
        view: 5,
        count: 0,
        unread: 0,
      };
      const uuid = this.random.uuid();
      const changeId = m.nextChangeId();
      const ok = await this.logged(m, ops.createFolder(folder, uuid), changeId, async (at) => {
        await this.transaction(async (c) => {
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

  async renameFolder(m: SimMailbox): Promise<void> {
    await this.userAction(m, async () => {
      const folders = m.userFolders();
      if (folders.length === 0) return;
      const folder = this.random.pick(folders);
      const name = `${folder.name.split(' (')[0]} (${this.random.int(1, 999)})`;
      if ([...m.folders.values()].some((f) => f.parent === folder.parent && f.name === name)) return;
      const changeId = m.nextChangeId();
      await this.logged(m, ops.renameFolder(folder, name), changeId, async (at) => {
        folder.name = name;
        await this.transaction(async (c) => {
          await rows.renameFolder(c, m, folder, changeId, at);
          await rows.saveCounters(c, m, []);
        });
      });
    });
  }

  // ---- activity -------------------------------------------------------------------------

  /** One random operation, weighted like a working day's mailbox traffic. */
  async step(weights: Record<ActivityKind, number> = DEFAULT_WEIGHTS): Promise<ActivityKind> {
    const all = [...this.mailboxes.values()];
    if (all.length === 0) throw new Error('no mailboxes to simulate: provision accounts first');
    const kind = this.random.weighted(weights);
    const m = this.random.pick(all);
    switch (kind) {
      case 'deliver':
        await this.deliver([m]);
        break;
      case 'deliverShared': {
        const others = all.filter((x) => x !== m);
        const extra = others.length ? [this.random.pick(others)] : [];
        await this.deliver([m, ...extra]);
        break;
      }
      case 'read':
        await this.setFlag(m, FLAG.unread, false);
        break;
      case 'flag':
        await this.setFlag(m, FLAG.flagged, this.random.chance(0.7));
        break;
      case 'move':
        await this.move(m, this.random.int(1, 3));
        break;
      case 'tag':
        await this.tag(m);
        break;
      case 'delete':
        await this.delete(m, this.random.int(1, 2));
        break;
      case 'createFolder':
        await this.createFolder(m);
        break;
      case 'renameFolder':
        await this.renameFolder(m);
        break;
      case 'emptyFolder':
        await this.emptyFolder(m);
        break;
    }
    return kind;
  }

  /**
   * Runs `operations` random operations at about `perSecond`, retrying deferred deliveries as it
   * goes; stops early when `signal` aborts.
   */
  async run(options: { operations: number; perSecond?: number; signal?: AbortSignal }): Promise<void> {
    const interval = options.perSecond ? 1000 / options.perSecond : 0;
    const started = Date.now();
    for (let i = 0; i < options.operations && !options.signal?.aborted; i++) {
      await this.step();
      if (i % 20 === 0 && this.deferred.length) await this.flushDeferred();
      const due = started + (i + 1) * interval;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  }

  /** Commits index segments and flushes the redo log, so that files on disk show every change. */
  async sync(): Promise<void> {
    for (const m of this.mailboxes.values()) await m.exclusive(async () => m.index.commit());
  }

  async close(): Promise<void> {
    for (const m of this.mailboxes.values()) await m.exclusive(async () => m.index.close());
    await this.redo.close();
    await this.db.end();
    await this.ldap.unbind();
  }
}
