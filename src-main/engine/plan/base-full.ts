import fs from 'node:fs';
import path from 'node:path';
import type { AccountInSession, Catalog } from '../catalog/catalog';
import type { CatalogSession } from '../catalog/catalog-format';
import { accountPaths, targetPaths } from '../target/layout';
import { MailboxModel } from './mailbox-model';

/**
 * The full backups an account can be restored from: sessions of type full in which the account
 * completed and has a mailbox, with the instant its snapshot was taken (the start of its
 * maintenance window; the session start when the manifest has none).
 */
export interface FullOfAccount {
  session: CatalogSession;
  entry: AccountInSession;
  snapshotMs: number;
}

/** Every usable full of the account, oldest first. */
export function fullsOf(catalog: Catalog, accountIndexes: ReadonlySet<number>): FullOfAccount[] {
  const out: FullOfAccount[] = [];
  for (const { session, entry } of catalog.holdings(accountIndexes)) {
    if (session.type !== 'full' || session.status === 'failed') continue;
    if (entry.status !== 'COMPLETED' || entry.account.mailboxId === null) continue;
    out.push({ session, entry, snapshotMs: entry.snapshotMs ?? session.startMs });
  }
  return out;
}

/** The latest full whose snapshot is at or before `atMs`; undefined when there is none. */
export function latestFullAtOrBefore(fulls: FullOfAccount[], atMs: number): FullOfAccount | undefined {
  let best: FullOfAccount | undefined;
  for (const f of fulls) if (f.snapshotMs <= atMs) best = f;
  return best;
}

export function mailboxSqlOf(target: string, full: FullOfAccount): string {
  const relative = accountPaths(full.entry.account.zimbraId).mailboxSql;
  return path.join(targetPaths(target).sessions, full.session.label, ...relative.split('/'));
}

/** The mailbox as that full holds it; null when its mailbox.sql is not in the target. */
export async function modelAtFull(target: string, full: FullOfAccount): Promise<MailboxModel | null> {
  const file = mailboxSqlOf(target, full);
  if (!fs.existsSync(file)) return null;
  return MailboxModel.fromDump(file);
}
