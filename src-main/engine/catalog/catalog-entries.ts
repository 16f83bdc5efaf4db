import { type Manifest } from '../target/manifest';
import {
  CorruptCatalogError,
  decodeColumn,
  encodeColumn,
  STATUS_CODES,
  type CatalogBody,
  type CatalogSession,
  type FileStamp,
  type SessionColumns,
} from './catalog-format';

/**
 * Building the catalog's entries: a manifest into its session entry and columns, accounts
 * interned into one table, and the holders index derived from the columns.
 */

export interface Columns {
  accounts: number[];
  statusCodes: string;
  bytes: number[];
  snapshots: Array<number | null>;
}

export function decodeColumns(s: CatalogSession, c: SessionColumns): Columns {
  const n = s.accountCount;
  if (c.statusCodes.length !== n)
    throw new CorruptCatalogError(`${s.label}: status column has the wrong length`);
  return {
    accounts: decodeColumn(c.accounts, n) as number[],
    statusCodes: c.statusCodes,
    bytes: decodeColumn(c.bytes, n) as number[],
    snapshots: decodeColumn(c.snapshots, n).map((d) => (d === null ? null : s.startMs + d)),
  };
}

export type Interned = Map<string, number>;

export function intern(
  table: CatalogBody['accounts'],
  index: Interned,
  id: string,
  email: string,
  mb: number | null,
) {
  const key = `${id}\u0000${email}\u0000${mb ?? ''}`;
  let at = index.get(key);
  if (at === undefined) {
    at = table.length;
    table.push([id, email, mb]);
    index.set(key, at);
  }
  return at;
}

export function sessionEntry(
  manifest: Manifest,
  stamp: FileStamp,
  table: CatalogBody['accounts'],
  index: Interned,
): { session: CatalogSession; columns: SessionColumns } {
  const accountErrors: Record<string, string> = {};
  manifest.accounts.forEach((a, at) => {
    if (a.error) accountErrors[String(at)] = a.error;
  });
  const session: CatalogSession = {
    label: manifest.label,
    manifest: stamp,
    type: manifest.type,
    hostname: manifest.server.hostname,
    serverId: manifest.server.zimbraId,
    startMs: manifest.startMs,
    endMs: manifest.endMs,
    status: manifest.status,
    redoSeq: manifest.redo.seq ? [manifest.redo.seq.min, manifest.redo.seq.max] : null,
    redoTimeMs: manifest.redo.timeMs ? [manifest.redo.timeMs.min, manifest.redo.timeMs.max] : null,
    redoLogs: (manifest.redoLogs ?? []).map((l) => [l.name, l.seq, l.bytes, l.firstOpMs, l.lastOpMs]),
    errors: manifest.errors.map((e) => ({ ...(e.email ? { email: e.email } : {}), message: e.message })),
    warnings: manifest.warnings ?? [],
    accountCount: manifest.accounts.length,
    completed: manifest.accounts.filter((a) => a.status === 'COMPLETED').length,
    errorCount: manifest.accounts.filter((a) => a.status === 'ERROR').length,
    accountErrors,
  };
  const columns: SessionColumns = {
    accounts: encodeColumn(
      manifest.accounts.map((a) => intern(table, index, a.zimbraId.toLowerCase(), a.email, a.mailboxId)),
    ),
    statusCodes: manifest.accounts.map((a) => STATUS_CODES[a.status]).join(''),
    bytes: encodeColumn(manifest.accounts.map((a) => a.bytes)),
    snapshots: encodeColumn(
      manifest.accounts.map((a) => (a.maintenance ? a.maintenance.startMs - manifest.startMs : null)),
    ),
  };
  return { session, columns };
}

/** The holders index, from the sessions' columns (sessions in their final order). */
export function holdersOf(
  sessions: CatalogSession[],
  columns: SessionColumns[],
  accountCount: number,
): string[] {
  const lists: string[][] = Array.from({ length: accountCount }, () => []);
  sessions.forEach((s, at) => {
    const c = columns[at]!;
    if (s.accountCount === 0) return;
    const accounts = c.accounts.split(',');
    const bytes = c.bytes.split(',');
    const snapshots = c.snapshots.split(',');
    const sAt = at.toString(36);
    accounts.forEach((a, p) =>
      lists[parseInt(a, 36)]!.push(
        `${sAt},${p.toString(36)},${c.statusCodes[p]},${bytes[p]},${snapshots[p]}`,
      ),
    );
  });
  return lists.map((l) => l.join(';'));
}
