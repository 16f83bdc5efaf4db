import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { forEachLimited, sweepDeadTemps, writeFileAtomic } from '../target/durable-fs';
import { compareLabels } from '../target/labels';
import { targetPaths } from '../target/layout';
import { readManifest } from '../target/manifest';
import { Catalog } from './catalog';
import { decodeColumns, holdersOf, intern, sessionEntry, type Interned } from './catalog-entries';
import {
  CATALOG_DIR,
  COLUMNS_FILE,
  CorruptCatalogError,
  encodeCatalogFile,
  encodeColumn,
  encodeHolders,
  HOLDERS_FILE,
  HoldersFile,
  type CatalogBody,
  type CatalogInvalid,
  type CatalogSession,
  type SessionColumns,
} from './catalog-format';
import {
  catalogFile,
  currentStamps,
  partFile,
  readCatalogFile,
  readPart,
  sameStamp,
  type CatalogPart,
} from './catalog-files';

export type CatalogState = 'fresh' | 'updated' | 'rebuilt';

export interface CatalogLoad {
  catalog: Catalog;
  state: CatalogState;
  /** Why it was updated or rebuilt: missing, corrupt (with what), or how many sessions changed. */
  reason: string | null;
  /** Manifests read to get here. */
  manifestsRead: number;
  /** False when the target could not be written (read-only media): the answer is still right. */
  written: boolean;
}

/**
 * Writes the catalog's three files (each temp + fsync + rename), catalog.json last: until it is
 * renamed, readers see the previous generation whole, or (after a crash in between) a set whose
 * generations differ, which they rebuild. False when the target cannot be written (read-only
 * media): the answer, built from the manifests, is right all the same.
 */
export async function saveCatalog(target: string, catalog: Catalog): Promise<boolean> {
  try {
    const dir = path.join(targetPaths(target).root, CATALOG_DIR);
    await fs.promises.mkdir(dir, { recursive: true });
    await sweepDeadTemps(dir); // what a process killed while saving left
    const g = catalog.generation;
    await writeFileAtomic(
      partFile(target, COLUMNS_FILE),
      encodeCatalogFile(g, { columns: catalog.allColumns }),
    );
    await writeFileAtomic(partFile(target, HOLDERS_FILE), encodeHolders(g, catalog.allHolders));
    await writeFileAtomic(catalogFile(target), encodeCatalogFile(g, catalog.body));
    return true;
  } catch {
    return false;
  }
}

export interface LoadCatalogOptions {
  /** Do not write the catalog back (a read-only look; saveCatalog can write it later). */
  readOnly?: boolean;
  /** What the caller will use besides the sessions: the columns (-v), the holders index (-a, plan). */
  parts?: CatalogPart[];
}

/**
 * The target's catalog, brought up to date with sessions/: entries whose manifest has the stamp
 * they were read with are kept, the others (new, changed, gone) are read again from their
 * manifests. A missing or corrupt catalog (any of its files) is rebuilt from every manifest.
 * Written back when anything changed.
 */
export async function loadCatalog(target: string, options: LoadCatalogOptions = {}): Promise<CatalogLoad> {
  const read = await readCatalogFile(target);
  const stamps = currentStamps(
    target,
    new Set(
      [...(read.stored?.body.sessions ?? []), ...(read.stored?.body.invalid ?? [])].map((s) => s.label),
    ),
  );
  let reason = read.reason;
  let old = read.stored;
  const known = new Map<string, { session?: CatalogSession; at?: number; invalid?: CatalogInvalid }>();
  const recount = () => {
    known.clear();
    old?.body.sessions.forEach((s, at) => known.set(s.label, { session: s, at }));
    for (const s of old?.body.invalid ?? []) known.set(s.label, { invalid: s });
    let changed = old ? 0 : stamps.size;
    if (old) {
      for (const label of known.keys()) if (!stamps.has(label)) changed++;
      for (const [label, stamp] of stamps) {
        const was = known.get(label);
        const wasStamp = was?.session?.manifest ?? was?.invalid?.manifest ?? undefined;
        if (wasStamp === undefined || !sameStamp(wasStamp, stamp)) changed++;
      }
    }
    return changed;
  };
  let changed = recount();
  // The parts needed: to answer (when fresh), or the columns to carry entries over (when not).
  const wanted = new Set<CatalogPart>(changed === 0 ? (options.parts ?? []) : ['columns']);
  const parts: { columns: SessionColumns[] | null; holders: HoldersFile | null } = {
    columns: null,
    holders: null,
  };
  if (old) {
    try {
      for (const part of wanted) {
        const length = part === 'columns' ? old.body.sessions.length : old.body.accounts.length;
        parts[part] = (await readPart(target, part, old.generation, length)) as never;
      }
    } catch (error) {
      if (!(error instanceof CorruptCatalogError)) throw error;
      reason = `corrupt (${error.message})`;
      old = null;
      changed = recount();
    }
  }
  if (old && changed === 0) {
    return {
      catalog: new Catalog(old.body, old.generation, parts.columns, parts.holders, target),
      state: 'fresh',
      reason: null,
      manifestsRead: 0,
      written: false,
    };
  }

  const table: CatalogBody['accounts'] = [];
  const index: Interned = new Map();
  const entries: Array<{ session: CatalogSession; columns: SessionColumns }> = [];
  const invalid: CatalogInvalid[] = [];
  const toRead: string[] = [];
  for (const [label, stamp] of stamps) {
    const was = known.get(label);
    if (old && was?.session && was.at !== undefined && sameStamp(was.session.manifest, stamp)) {
      const s = was.session;
      const columns = parts.columns![was.at]!;
      // Re-interned: the old table may hold accounts no session refers to any more.
      const accounts = decodeColumns(s, columns).accounts.map((i) => {
        const entry = old!.body.accounts[i];
        if (!entry) throw new CorruptCatalogError(`${s.label}: an account index is out of range`);
        const [id, email, mb] = entry;
        return intern(table, index, id, email, mb);
      });
      entries.push({ session: s, columns: { ...columns, accounts: encodeColumn(accounts) } });
    } else if (was?.invalid && sameStamp(was.invalid.manifest, stamp)) invalid.push(was.invalid);
    else toRead.push(label);
  }
  // Each manifest becomes its entry as soon as it is read: 5,000 manifests of 200 accounts held
  // at once would be over a GiB.
  await forEachLimited(toRead, 16, async (label) => {
    const dir = path.join(targetPaths(target).sessions, label);
    const reading = await readManifest(dir);
    // The stamp was taken before the read: a manifest replaced in between differs from it next
    // time and is read again, never kept stale.
    const stamp = stamps.get(label) ?? null;
    if (reading.state === 'complete' && stamp)
      entries.push(sessionEntry(reading.manifest, stamp, table, index));
    else
      invalid.push({
        label,
        manifest: stamp,
        reason:
          reading.state === 'missing'
            ? 'no manifest.json'
            : reading.state === 'invalid'
              ? reading.reason.split('\n')[0]!
              : 'the manifest vanished while being read',
      });
  });
  entries.sort((a, b) => compareLabels(a.session.label, b.session.label));
  invalid.sort((a, b) => compareLabels(a.label, b.label));
  const sessions = entries.map((e) => e.session);
  const columns = entries.map((e) => e.columns);
  const catalog = new Catalog(
    { builtMs: Date.now(), accounts: table, sessions, invalid },
    crypto.randomBytes(8).toString('hex'),
    columns,
    holdersOf(sessions, columns, table.length),
  );
  const written = options.readOnly ? false : await saveCatalog(target, catalog);
  return {
    catalog,
    state: old ? 'updated' : 'rebuilt',
    reason: old ? `${changed} session(s) changed` : reason,
    manifestsRead: toRead.length,
    written,
  };
}
