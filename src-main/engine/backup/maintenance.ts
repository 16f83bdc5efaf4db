import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import { z } from 'zod';
import { readAccountStatus, setAccountStatus } from '../ldap/directory';
import { sweepDeadTemps, writeFileAtomic } from '../target/durable-fs';
import { targetPaths } from '../target/layout';

/**
 * Maintenance mode with a journal, so that no account stays in maintenance whatever happens to
 * the process: the account's previous status is written (atomically, fsynced) to
 * `tmp/<label>/maintenance.json` *before* its status changes, and removed only after it is back.
 * Any later run that holds the target's lock restores what a dead run left (recoverMaintenance).
 */
const entrySchema = z.object({
  dn: z.string(),
  email: z.string(),
  previousStatus: z.string(),
  sinceMs: z.number(),
  /** The account was created by this run (restore -ca): a rerun may make it again. */
  created: z.boolean().optional(),
});
const journalSchema = z.object({ server: z.string(), entries: z.array(entrySchema) });
export type MaintenanceEntry = z.infer<typeof entrySchema>;

export const JOURNAL_FILE = 'maintenance.json';

export class MaintenanceJournal {
  private entries: MaintenanceEntry[] = [];
  /** Accounts dead runs created (restore -ca), kept on disk until this run ends (see carry). */
  private carried: MaintenanceEntry[] = [];

  constructor(
    private readonly file: string,
    private readonly server: string,
  ) {}

  /**
   * Accounts journalled ahead of their window (a full backup prepares the next account while one
   * is in maintenance): written with their current status, so that the window itself has no
   * fsync to wait for. Harmless if the run dies before their window: recovery only puts back an
   * account it finds in maintenance.
   */
  private expected: MaintenanceEntry[] = [];
  /** Saves run one after another, each writing the state as it is then. */
  private saving: Promise<void> = Promise.resolve();

  private save(): Promise<void> {
    const next = this.saving.then(() => this.write());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    const entries = [...this.entries, ...this.expected, ...this.carried];
    if (entries.length === 0) {
      await fs.promises.rm(this.file, { force: true });
      await sweepDeadTemps(path.dirname(this.file)); // what a killed run left while writing
      return;
    }
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify({ server: this.server, entries }));
  }

  /** Journals an account before its window, with its status now (see expected). */
  async expect(client: Client, account: { dn: string; email: string }): Promise<void> {
    const status = (await readAccountStatus(client, account.dn)) ?? 'active';
    this.expected.push({ dn: account.dn, email: account.email, previousStatus: status, sinceMs: Date.now() });
    await this.save();
  }

  /** Forgets an expected account whose window will not come (the run stopped first); not written. */
  unexpect(dn: string): void {
    this.expected = this.expected.filter((e) => e.dn !== dn);
  }

  /**
   * Journals, then sets maintenance. Returns the status to restore. An account journalled ahead
   * (expect) whose status is still the one journalled is not written again.
   */
  async enter(client: Client, account: { dn: string; email: string }): Promise<string> {
    const previousStatus = (await readAccountStatus(client, account.dn)) ?? 'active';
    // An account already in maintenance (an admin's, or a crashed run's) is left as it is found.
    const restoreTo = previousStatus === 'maintenance' ? 'maintenance' : previousStatus;
    const expected = this.expected.find((e) => e.dn === account.dn);
    this.expected = this.expected.filter((e) => e !== expected);
    this.entries.push({
      dn: account.dn,
      email: account.email,
      previousStatus: restoreTo,
      sinceMs: Date.now(),
    });
    if (expected?.previousStatus !== restoreTo) await this.save();
    if (restoreTo !== 'maintenance') await setAccountStatus(client, account.dn, 'maintenance');
    return restoreTo;
  }

  /**
   * Journals `restoreTo` as the status to put back, then sets maintenance if the entry exists: a
   * restore that recreates the entry (-ra, -ca) puts back the status the backup recorded.
   */
  async enterAs(
    client: Client,
    account: { dn: string; email: string },
    restoreTo: string,
    options: { created?: boolean } = {},
  ): Promise<void> {
    this.entries.push({
      dn: account.dn,
      email: account.email,
      previousStatus: restoreTo,
      sinceMs: Date.now(),
      ...(options.created ? { created: true } : {}),
    });
    await this.save();
    if ((await readAccountStatus(client, account.dn)) !== null)
      await setAccountStatus(client, account.dn, 'maintenance');
  }

  /**
   * Puts the account's status back, then drops it from the journal. With `write: false` the file
   * keeps it until the journal is next written (or closed): an entry for an account no longer
   * in maintenance is one recovery leaves alone, and a full backup's window then ends without
   * waiting for a write.
   */
  async leave(client: Client, dn: string, options: { write?: boolean } = {}): Promise<void> {
    const entry = this.entries.find((e) => e.dn === dn);
    if (!entry) return;
    if (entry.previousStatus !== 'maintenance') await setAccountStatus(client, dn, entry.previousStatus);
    this.entries = this.entries.filter((e) => e !== entry);
    // A copy this run created keeps its mark until the run's journal goes: killed after putting
    // it back but before ending, the run's rerun with the same prefix must still make it again
    // rather than refuse it as someone else's account.
    if (entry.created) this.carried.push(entry);
    if (options.write !== false || entry.created) await this.save();
  }

  /** Removes the journal once nothing in it is pending (the run's accounts are all back). */
  async close(): Promise<void> {
    this.expected = [];
    if (this.entries.length === 0 && this.carried.length === 0) await this.save();
  }

  /** Restores every account still journalled (used on abort and on errors). */
  async leaveAll(client: Client): Promise<void> {
    for (const entry of [...this.entries]) await this.leave(client, entry.dn);
  }

  /**
   * Writes the journal again (its directory recreated): after a failed run discards its session
   * with accounts it could not put back, the next run still finds them.
   */
  async keepForNextRun(): Promise<void> {
    await this.save();
  }

  /**
   * Keeps the accounts dead runs created in this run's journal (written before their journals
   * are removed), so that a run killed in turn still passes them on. Never put back or left:
   * they go with the journal when this run ends.
   */
  async carry(entries: MaintenanceEntry[]): Promise<void> {
    if (entries.length === 0) return;
    this.carried.push(...entries);
    await this.save();
  }

  get path(): string {
    return this.file;
  }

  get pending(): readonly MaintenanceEntry[] {
    return this.entries;
  }
}

/**
 * Restores the accounts that runs which died left in maintenance on `server`. Call it while
 * holding the target's lock: then no journal in tmp/ belongs to a live run. An account whose
 * status is no longer `maintenance` (someone changed it since) is left alone.
 */
export async function recoverMaintenance(
  target: string,
  server: string,
  client: Client,
  ownJournal?: string,
): Promise<MaintenanceEntry[]> {
  const tmp = targetPaths(target).tmp;
  const restored: MaintenanceEntry[] = [];
  let labels: string[];
  try {
    labels = await fs.promises.readdir(tmp);
  } catch {
    return restored;
  }
  for (const label of labels) {
    const file = path.join(tmp, label, JOURNAL_FILE);
    if (file === ownJournal) continue;
    let journal: z.infer<typeof journalSchema>;
    try {
      journal = journalSchema.parse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
    } catch {
      continue; // none, or unreadable: a journal is written atomically, so this is not one
    }
    if (journal.server !== server) continue;
    for (const entry of journal.entries) {
      if (
        (await readAccountStatus(client, entry.dn)) === 'maintenance' &&
        entry.previousStatus !== 'maintenance'
      ) {
        await setAccountStatus(client, entry.dn, entry.previousStatus);
        restored.push(entry);
      }
    }
    await fs.promises.rm(file, { force: true });
  }
  return restored;
}

/**
 * The accounts that runs which died on `server` had created (restore -ca), as their journals
 * say; read before recoverMaintenance removes the journals. A rerun with the same prefix makes
 * such an account again instead of refusing it as someone else's.
 */
export async function createdByDeadRuns(target: string, server: string): Promise<MaintenanceEntry[]> {
  const tmp = targetPaths(target).tmp;
  const created: MaintenanceEntry[] = [];
  let labels: string[] = [];
  try {
    labels = await fs.promises.readdir(tmp);
  } catch {
    return created;
  }
  for (const label of labels) {
    try {
      const file = path.join(tmp, label, JOURNAL_FILE);
      const journal = journalSchema.parse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
      if (journal.server === server) created.push(...journal.entries.filter((e) => e.created));
    } catch {
      // none, or unreadable (see recoverMaintenance)
    }
  }
  return created;
}
