import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { runIncrementalBackup } from '../../src-main/engine/backup/incremental-backup';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import { volumeFromRow, type Volume } from '../../src-main/engine/server/volumes';
import { LocalTransport } from '../../src-main/engine/transport';
import type { Manifest } from '../../src-main/engine/target/manifest';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { digestAccount, ldapClient, pool, withLab } from './lab-fixture';
import { indexedDocs, type IndexDocs } from './restore-index';

/**
 * A lab for restore tests: accounts with mail, a full backup taken while the simulator runs
 * (each account's digest recorded when its maintenance began), then more activity with
 * rollovers and an incremental, during which the digest of accounts is recorded right after one
 * of their ops committed, with that op's commit time: the instants a restore must reproduce.
 */
export interface Instant {
  email: string;
  /** The CommitTxn time of the account's last op when the digest was taken. */
  atMs: number;
  digest: MailboxDigest;
  /** The index's live documents then (pending ones committed after the digest was taken). */
  indexDocs: IndexDocs;
}

export interface RestoreLab {
  lab: Lab;
  server: LabServerInfo;
  access: ServerAccess;
  db: Pool;
  ldap: Client;
  target: string;
  full: Manifest;
  atFull: Map<string, MailboxDigest>;
  /** The incremental taken mid-way, right after a rollover, and every account's digest then. */
  incremental: Manifest;
  atIncrement: Map<string, MailboxDigest>;
  instants: Instant[];
  emails: string[];
  digest(email: string, options?: Parameters<typeof digestAccount>[4]): Promise<MailboxDigest>;
  /** The server's volumes, as zimbra.volume has them. */
  volumes(): Promise<Volume[]>;
  stop(): Promise<void>;
}

export async function startRestoreLab(options: {
  seed: string;
  accounts: string[];
  messages: number;
  operations: number;
  instantsEvery: number;
}): Promise<RestoreLab> {
  const lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  const sim = await MailboxSimulator.open(server, {
    seed: options.seed,
    abortRate: 0.03,
    abandonRate: 0.01,
    rolloverBytes: 192 * 1024,
  });
  await sim.provision(options.accounts);
  await sim.populate(options.messages);
  const db = pool(server);
  const ldap = await ldapClient(server);
  const access = await openServerAccess(new LocalTransport({ name: server.hostname }), {
    zimbraHome: server.zimbraHome,
    local: true,
  });
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-restore-'));
  const digest = (email: string, o?: Parameters<typeof digestAccount>[4]) =>
    digestAccount(server, db, ldap, email, o);
  await sim.run({ operations: 40 });
  const atFull = new Map<string, MailboxDigest>();
  const busy = new AbortController();
  const running = sim.run({ operations: 100_000, perSecond: 300, signal: busy.signal });
  let full: Manifest;
  try {
    full = await runFullBackup(access, {
      target,
      accounts: 'all',
      zip: 'store',
      blobs: true,
      index: true,
      engineVersion: 'test',
      inMaintenance: async (account) => {
        const m = sim.mailboxes.get(account.email)!;
        await m.exclusive(async () => atFull.set(account.email, await digest(account.email)));
      },
    });
  } finally {
    busy.abort();
    await running;
  }
  await sim.flushDeferred();
  const instants: Instant[] = [];
  const atIncrement = new Map<string, MailboxDigest>();
  let incremental: Manifest | undefined;
  const emails = [...sim.mailboxes.keys()].sort();
  for (let i = 0; i < options.operations; i++) {
    await sim.step();
    if (i % 25 === 0) await sim.flushDeferred();
    if (i === Math.floor(options.operations / 2)) {
      await sim.redo.rollover();
      // Nothing runs between steps: every account as the logs up to this rollover leave it.
      for (const email of [...sim.mailboxes.keys()]) atIncrement.set(email, await digest(email));
      incremental = (await runIncrementalBackup(access, { target, accounts: 'all', engineVersion: 'test' }))
        .manifest;
    }
    if (i % options.instantsEvery === options.instantsEvery - 1) {
      const email = emails[((i / options.instantsEvery) % emails.length) | 0]!;
      const m = sim.mailboxes.get(email)!;
      // Inside the mailbox lock: no op of this mailbox runs until its digest is taken.
      await m.exclusive(async () => {
        if (!m.lastCommit) return;
        const taken = await digest(email);
        m.index.commit();
        instants.push({ email, atMs: m.lastCommit.ms, digest: taken, indexDocs: indexedDocs(m.index.dir) });
      });
    }
  }
  await sim.sync();
  await sim.close();
  return {
    lab,
    server,
    access,
    db,
    ldap,
    target,
    full: full!,
    atFull,
    incremental: incremental!,
    atIncrement,
    instants,
    emails,
    digest,
    volumes: async () => {
      const [rows] = await db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
      return rows.map(volumeFromRow);
    },
    stop: async () => {
      await access.close().catch(() => undefined);
      await db.end().catch(() => undefined);
      await ldap.unbind().catch(() => undefined);
      await lab.stop();
      fs.rmSync(target, { recursive: true, force: true });
    },
  };
}

/** Rows, blobs and LDAP differences (the index is compared on its own: see docs/restore.md). */
export function diffWithoutIndex(expected: MailboxDigest, actual: MailboxDigest): string[] {
  return diffDigests({ ...expected, index: {} }, { ...actual, index: {} });
}
