import type { Client } from 'ldapts';
import type { Pool } from 'mysql2/promise';
import type { LabServerInfo } from '../types';
import { DEFAULT_WEIGHTS, run, step, type ActivityKind } from './activity';
import { openContext, type SimContext, type SimStats, type SimulatorOptions } from './context';
import { deliver, flushDeferred, randomSize } from './delivery';
import type { SimFolder, SimMailbox } from './mailbox';
import { populate } from './populate';
import { provision } from './provision';
import type { RedoManager } from './redo-manager';
import { FOLDER } from './system-folders';
import { createFolder, deleteMessages, emptyFolder, move, renameFolder, setFlag, tag } from './user-actions';

export type { ActivityKind } from './activity';
export type { SimStats, SimulatorOptions } from './context';

/**
 * Plays mailboxd on a lab server, deterministically from a seed: provisions accounts, delivers
 * mail (blobs at Zimbra's paths, hard links for shared deliveries, index segments), and moves,
 * flags, tags, deletes and reorganises folders, logging every change as Zimbra redo records
 * (op, then CommitTxn; a few aborted or abandoned). It honours maintenance mode: deliveries to an
 * account in maintenance are deferred, as an MTA does on LMTP 4xx, and delivered after.
 *
 * This class is the simulator's one entry point; the work is done by its parts: context.ts
 * (connections, volumes, the seeded stream), logged-change.ts (transactions inside redo records),
 * provision.ts, delivery.ts, populate.ts (bulk delivery), user-actions.ts and activity.ts.
 */
export class MailboxSimulator {
  readonly mailboxes: Map<string, SimMailbox>;
  readonly stats: SimStats;
  readonly server: LabServerInfo;
  readonly db: Pool;
  readonly ldap: Client;
  readonly redo: RedoManager;

  private constructor(private readonly sim: SimContext) {
    this.mailboxes = sim.mailboxes;
    this.stats = sim.stats;
    this.server = sim.server;
    this.db = sim.db;
    this.ldap = sim.ldap;
    this.redo = sim.redo;
  }

  static async open(server: LabServerInfo, options: SimulatorOptions = {}): Promise<MailboxSimulator> {
    return new MailboxSimulator(await openContext(server, options));
  }

  // ---- accounts and delivery ------------------------------------------------------------

  provision(localParts: string[]): Promise<SimMailbox[]> {
    return provision(this.sim, localParts);
  }

  /** A message to several local recipients: one blob stored once (StoreIncomingBlob), hard-linked into each mailbox. */
  deliver(recipients: SimMailbox[], size = randomSize(this.sim.random)): Promise<void> {
    return deliver(this.sim, recipients, size);
  }

  /** Bulk delivery for setting a lab up: the same rows, blobs, index and redo records, batched. */
  populate(
    messagesPerMailbox: number,
    options: { concurrency?: number; batch?: number } = {},
  ): Promise<void> {
    return populate(this.sim, messagesPerMailbox, options);
  }

  /** Retries deferred deliveries (the MTA's queue run); returns how many are still deferred. */
  flushDeferred(): Promise<number> {
    return flushDeferred(this.sim);
  }

  get deferredCount(): number {
    return this.sim.deferred.length;
  }

  // ---- user actions ---------------------------------------------------------------------

  setFlag(m: SimMailbox, flagId: number, on: boolean): Promise<void> {
    return setFlag(this.sim, m, flagId, on);
  }

  move(m: SimMailbox, count = 1): Promise<void> {
    return move(this.sim, m, count);
  }

  tag(m: SimMailbox): Promise<void> {
    return tag(this.sim, m);
  }

  delete(m: SimMailbox, count = 1): Promise<void> {
    return deleteMessages(this.sim, m, count);
  }

  emptyFolder(m: SimMailbox, folderId = FOLDER.trash): Promise<void> {
    return emptyFolder(this.sim, m, folderId);
  }

  createFolder(m: SimMailbox, name?: string): Promise<SimFolder | undefined> {
    return createFolder(this.sim, m, name);
  }

  renameFolder(m: SimMailbox): Promise<void> {
    return renameFolder(this.sim, m);
  }

  // ---- activity -------------------------------------------------------------------------

  /** One random operation, weighted like a working day's mailbox traffic. */
  step(weights: Record<ActivityKind, number> = DEFAULT_WEIGHTS): Promise<ActivityKind> {
    return step(this.sim, weights);
  }

  /**
   * Runs `operations` random operations at about `perSecond`, retrying deferred deliveries as it
   * goes; stops early when `signal` aborts.
   */
  run(options: { operations: number; perSecond?: number; signal?: AbortSignal }): Promise<void> {
    return run(this.sim, options);
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
