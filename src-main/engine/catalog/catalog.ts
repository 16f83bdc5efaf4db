import fs from 'node:fs';
import path from 'node:path';
import { forEachLimited, writeFileAtomic } from '../target/durable-fs';
import { compareLabels, isLabel } from '../target/labels';
import { isZimbraId, SESSION_FILES, targetPaths } from '../target/layout';
import { readManifest, type AccountStatus, type Manifest } from '../target/manifest';
import crypto from 'node:crypto';
import {
  accountStatusOf,
  CATALOG_DIR,
  CATALOG_FILE,
  COLUMNS_FILE,
  CorruptCatalogError,
  decodeCatalog,
  decodeColumn,
  decodePart,
  encodeCatalogFile,
  encodeColumn,
  encodeHolders,
  HOLDERS_FILE,
  HoldersFile,
  STATUS_CODES,
  type CatalogBody,
  type CatalogInvalid,
  type CatalogSession,
  type FileStamp,
  type SessionColumns,
} from './catalog-format';

/** How the catalog was obtained: as it was on disk, brought up to date, or built from nothing. */
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

export interface CatalogAccount {
  index: number;
  zimbraId: string;
  email: string;
  mailboxId: number | null;
}

export interface AccountInSession {
  account: CatalogAccount;
  status: AccountStatus;
  bytes: number;
  snapshotMs: number | null;
  error?: string;
}

export const catalogFile = (target: string): string =>
  path.join(targetPaths(target).root, CATALOG_DIR, CATALOG_FILE);

/** A session of the catalog and one account's entry in it. */
export interface Holding {
  session: CatalogSession;
  entry: AccountInSession;
}

interface Columns {
  accounts: number[];
  statusCodes: string;
  bytes: number[];
  snapshots: Array<number | null>;
}

function decodeColumns(s: CatalogSession, c: SessionColumns): Columns {
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

/** The parts of a catalog beyond catalog.json, each loaded when a question needs it. */
export type CatalogPart = 'columns' | 'holders';

/** A loaded catalog, with the look-ups query and plan need. Sessions are oldest first. */
export class Catalog {
  readonly accounts: CatalogAccount[];
  private positions: Map<CatalogSession, number> | null = null;
  private readonly holdingsCache = new Map<string, Holding[]>();

  constructor(
    readonly body: CatalogBody,
    readonly generation: string,
    private columns: SessionColumns[] | null,
    private holders: string[] | HoldersFile | null,
    /** Where the catalog lives, to fall back on its columns if a holders line is damaged. */
    private readonly target: string | null = null,
  ) {
    this.accounts = body.accounts.map(([zimbraId, email, mailboxId], index) => ({
      index,
      zimbraId,
      email,
      mailboxId,
    }));
  }

  get sessions(): CatalogSession[] {
    return this.body.sessions;
  }

  get invalid(): CatalogInvalid[] {
    return this.body.invalid;
  }

  /** The columns of every session (for writing the catalog, and -v). */
  get allColumns(): SessionColumns[] {
    if (!this.columns) throw new Error('catalog loaded without its columns');
    return this.columns;
  }

  get allHolders(): string[] {
    if (!this.holders) throw new Error('catalog loaded without its holders');
    const h = this.holders;
    return Array.isArray(h) ? h : Array.from({ length: h.count }, (_, i) => this.holderLine(i));
  }

  /**
   * One account's holders. A damaged line of holders.txt is not believed: the same line is
   * derived from the columns (checked whole), and holders.txt is removed so that the next load
   * rebuilds the catalog.
   */
  private holderLine(index: number): string {
    const h = this.holders;
    if (!h) throw new Error('catalog loaded without its holders');
    if (Array.isArray(h)) return h[index] ?? '';
    try {
      return h.line(index);
    } catch (error) {
      if (!(error instanceof CorruptCatalogError) || !this.target) throw error;
      // Removed first: whatever happens next, the next reader rebuilds the catalog.
      fs.rmSync(partFile(this.target, HOLDERS_FILE), { force: true });
      if (!this.columns) {
        const data = fs.readFileSync(partFile(this.target, COLUMNS_FILE));
        this.columns = decodePart(
          data,
          COLUMNS_FILE,
          'columns',
          this.generation,
          this.sessions.length,
        ) as SessionColumns[];
      }
      this.holders = holdersOf(this.sessions, this.columns, this.accounts.length);
      return this.holders[index] ?? '';
    }
  }

  /** Account entries matching an email (any case) or a zimbraId; several when a mailbox id changed. */
  findAccount(nameOrId: string): CatalogAccount[] {
    const wanted = nameOrId.toLowerCase();
    const byId = isZimbraId(nameOrId);
    return this.accounts.filter((a) => (byId ? a.zimbraId === wanted : a.email.toLowerCase() === wanted));
  }

  /**
   * Every session holding one of these account entries, oldest first, with the account's entry
   * there: read from the holders index, without decoding the sessions.
   */
  holdings(indexes: ReadonlySet<number>): Holding[] {
    // A query asks for the same account several times (resolve, sessions, fulls): decoded once.
    const key = [...indexes].sort((a, b) => a - b).join(',');
    let cached = this.holdingsCache.get(key);
    if (!cached) {
      cached = this.decodeHoldings(indexes);
      this.holdingsCache.set(key, cached);
    }
    return cached;
  }

  private decodeHoldings(indexes: ReadonlySet<number>): Holding[] {
    const found: Array<Holding & { at: number }> = [];
    for (const index of indexes) {
      const text = this.holderLine(index);
      if (!text) continue;
      for (const item of text.split(';')) {
        const [s, p, code, b, t] = item.split(',');
        const at = parseInt(s!, 36);
        const session = this.body.sessions[at];
        if (!session || code === undefined || b === undefined || t === undefined)
          throw new CorruptCatalogError('a holder names no session');
        const position = parseInt(p!, 36);
        const error = session.accountErrors[String(position)];
        found.push({
          at,
          session,
          entry: {
            account: this.accounts[index]!,
            status: accountStatusOf(code),
            bytes: parseInt(b, 36),
            snapshotMs: t === '' ? null : session.startMs + parseInt(t, 36),
            ...(error ? { error } : {}),
          },
        });
      }
    }
    return found.sort((x, y) => x.at - y.at).map(({ session, entry }) => ({ session, entry }));
  }

  /** Every account of a session, in the manifest's order. */
  accountsOf(session: CatalogSession): AccountInSession[] {
    this.positions ??= new Map(this.body.sessions.map((s, at) => [s, at]));
    const at = this.positions.get(session);
    if (at === undefined) throw new Error(`${session.label} is not in this catalog`);
    const c = decodeColumns(session, this.allColumns[at]!);
    return c.accounts.map((index, p) => {
      const error = session.accountErrors[String(p)];
      return {
        account: this.accounts[index]!,
        status: accountStatusOf(c.statusCodes[p]!),
        bytes: c.bytes[p]!,
        snapshotMs: c.snapshots[p]!,
        ...(error ? { error } : {}),
      };
    });
  }
}

function stampOf(file: string): FileStamp | null {
  try {
    const st = fs.statSync(file);
    return { bytes: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

const sameStamp = (a: FileStamp | null, b: FileStamp | null): boolean =>
  a === b || (a !== null && b !== null && a.bytes === b.bytes && a.mtimeMs === b.mtimeMs && a.ino === b.ino);

/**
 * Session labels in sessions/ and the stamp of each one's manifest.json, as they are now. Plain
 * synchronous stats: the inodes are cached after the first look, and 5,000 stats in a row cost
 * less than handing each to the thread pool.
 */
function currentStamps(target: string, known: ReadonlySet<string>): Map<string, FileStamp | null> {
  const { sessions } = targetPaths(target);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(sessions, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const stamps = new Map<string, FileStamp | null>();
  for (const e of entries)
    // A name the catalog already holds was checked as a label when it was added.
    if (e.isDirectory() && (known.has(e.name) || isLabel(e.name)))
      stamps.set(e.name, stampOf(path.join(sessions, e.name, SESSION_FILES.manifest)));
  return stamps;
}

type Interned = Map<string, number>;

function intern(
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

function sessionEntry(
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
function holdersOf(sessions: CatalogSession[], columns: SessionColumns[], accountCount: number): string[] {
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

const partFile = (target: string, name: string) => path.join(targetPaths(target).root, CATALOG_DIR, name);

async function readCatalogFile(
  target: string,
): Promise<{ stored: { generation: string; body: CatalogBody } | null; reason: string }> {
  let data: Buffer;
  try {
    data = await fs.promises.readFile(catalogFile(target));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { stored: null, reason: 'missing' };
    return { stored: null, reason: `unreadable (${(error as Error).message})` };
  }
  try {
    return { stored: decodeCatalog(data), reason: '' };
  } catch (error) {
    if (error instanceof CorruptCatalogError) return { stored: null, reason: `corrupt (${error.message})` };
    throw error;
  }
}

/** columns.json or holders.txt of that generation; throws CorruptCatalogError if it is not. */
async function readPart(
  target: string,
  part: CatalogPart,
  generation: string,
  length: number,
): Promise<SessionColumns[] | HoldersFile> {
  const name = part === 'columns' ? COLUMNS_FILE : HOLDERS_FILE;
  let data: Buffer;
  try {
    data = await fs.promises.readFile(partFile(target, name));
  } catch (error) {
    throw new CorruptCatalogError(`${name} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  if (part === 'holders') return HoldersFile.open(data, generation, length);
  return decodePart(data, name, part, generation, length) as SessionColumns[];
}

/**
 * Writes the catalog's three files (each temp + fsync + rename), catalog.json last: until it is
 * renamed, readers see the previous generation whole, or (after a crash in between) a set whose
 * generations differ, which they rebuild. False when the target cannot be written (read-only
 * media): the answer, built from the manifests, is right all the same.
 */
export async function saveCatalog(target: string, catalog: Catalog): Promise<boolean> {
  try {
    await fs.promises.mkdir(path.join(targetPaths(target).root, CATALOG_DIR), { recursive: true });
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
