import crypto from 'node:crypto';
import { z } from 'zod';
import { sessionStatuses, type AccountStatus } from '../target/manifest';

/**
 * `<target>/catalog/catalog.json`: a compact index of every session's manifest, so that query and
 * plan answer without reading thousands of manifests. The manifests stay the truth: the catalog
 * records, per session, the size, mtime and inode of the manifest it was read from, and an entry
 * whose manifest changed, vanished or appeared is read again (docs/backup-target.md, "The
 * catalog").
 *
 * The file is two lines: a header `{"format":2,"sha1":"…","bytes":N}` and the body, a JSON object
 * whose SHA-1 the header gives, so a damaged catalog is detected (and rebuilt), never believed.
 *
 * Sized for 5,000 sessions of 200 accounts: a million account entries. JSON.parse is slow on a
 * million numbers and fast on a few long strings, so per-account columns are strings (numbers in
 * base 36, comma-separated), decoded only for the sessions or accounts a question touches; and
 * `holders` indexes them by account, so `-a` reads one string instead of every session.
 */
export const CATALOG_FORMAT = 2;
export const CATALOG_DIR = 'catalog';
export const CATALOG_FILE = 'catalog.json';

/** One character per account status. */
export const STATUS_CODES: Record<AccountStatus, string> = {
  NOTSTARTED: 'N',
  INPROGRESS: 'P',
  COMPLETED: 'C',
  ERROR: 'E',
};
const STATUS_BY_CODE = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [code, status]));

export function accountStatusOf(code: string): AccountStatus {
  const status = STATUS_BY_CODE.get(code);
  if (!status) throw new CorruptCatalogError(`unknown account status code ${code}`);
  return status as AccountStatus;
}

// ---- columns: numbers as base-36 text --------------------------------------------------------

/** `[3, 40, null]` → `"3,14,"`: null is the empty item. */
export function encodeColumn(values: ReadonlyArray<number | null>): string {
  return values.map((v) => (v === null ? '' : v.toString(36))).join(',');
}

export function decodeColumn(text: string, length: number): Array<number | null> {
  if (length === 0) return [];
  const parts = text.split(',');
  if (parts.length !== length) throw new CorruptCatalogError('a column has the wrong length');
  return parts.map((p) => (p === '' ? null : parseInt(p, 36)));
}

const pair = z.tuple([z.number(), z.number()]).nullable();

/** What the catalog remembers of the manifest file an entry was read from. */
const fileStamp = z.object({ bytes: z.number(), mtimeMs: z.number(), ino: z.number() });
export type FileStamp = z.infer<typeof fileStamp>;

export const catalogSessionSchema = z.object({
  label: z.string(),
  manifest: fileStamp,
  type: z.enum(['full', 'incremental']),
  hostname: z.string(),
  serverId: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  status: z.enum(sessionStatuses),
  redoSeq: pair,
  redoTimeMs: pair,
  /** [name, seq, bytes, firstOpMs, lastOpMs] of each redo log the session brought in. */
  redoLogs: z.array(
    z.tuple([z.string(), z.number(), z.number(), z.number().nullable(), z.number().nullable()]),
  ),
  errors: z.array(z.object({ email: z.string().optional(), message: z.string() })),
  warnings: z.array(z.string()),
  /** How many accounts, and how many COMPLETED and in ERROR (for the listing, undecoded). */
  accountCount: z.number(),
  completed: z.number(),
  errorCount: z.number(),
  /** Columns, one item per account in the manifest's order: indexes into the catalog's `accounts`, */
  accounts: z.string(),
  /** one status character each (STATUS_CODES), */
  statusCodes: z.string(),
  /** bytes, */
  bytes: z.string(),
  /** and when each account's snapshot began, as ms after startMs (empty: no maintenance window). */
  snapshots: z.string(),
  /** Error messages of accounts in ERROR, by position. */
  accountErrors: z.record(z.string(), z.string()),
});
export type CatalogSession = z.infer<typeof catalogSessionSchema>;

/** A directory in sessions/ whose manifest is missing or does not validate. */
export const catalogInvalidSchema = z.object({
  label: z.string(),
  manifest: fileStamp.nullable(),
  reason: z.string(),
});
export type CatalogInvalid = z.infer<typeof catalogInvalidSchema>;

export const catalogBodySchema = z.object({
  builtMs: z.number(),
  /** [zimbraId (lower case), email, mailboxId] of every account some session holds. */
  accounts: z.array(z.tuple([z.string(), z.string(), z.number().nullable()])),
  sessions: z.array(catalogSessionSchema),
  /**
   * By account index: where it is held, `session,position` pairs in base 36, `;`-separated, in
   * session order (an index derived from the sessions' columns, for `-a`).
   */
  holders: z.array(z.string()),
  invalid: z.array(catalogInvalidSchema),
});
export type CatalogBody = z.infer<typeof catalogBodySchema>;

const headerSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  sha1: z.string().regex(/^[0-9a-f]{40}$/),
  bytes: z.number(),
});

const digest = (data: Buffer | string) => crypto.createHash('sha1').update(data).digest('hex');

export function encodeCatalog(body: CatalogBody): Buffer {
  const text = Buffer.from(JSON.stringify(body));
  const header = JSON.stringify({ format: CATALOG_FORMAT, sha1: digest(text), bytes: text.length });
  return Buffer.concat([Buffer.from(`${header}\n`), text, Buffer.from('\n')]);
}

export class CorruptCatalogError extends Error {}

/**
 * Reads a catalog file; throws CorruptCatalogError when the header, the checksum or the shape is
 * wrong. The checksum proves the body is what a catalog writer wrote, so the shape is checked
 * where it is cheap (scalars of the sessions), and columns when they are decoded.
 */
export function decodeCatalog(data: Buffer): CatalogBody {
  const newline = data.indexOf(0x0a);
  if (newline < 0) throw new CorruptCatalogError('no header line');
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(data.subarray(0, newline).toString('utf8')));
  } catch {
    throw new CorruptCatalogError('the header is not a catalog header of this format');
  }
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  const body = data.subarray(newline + 1, end);
  if (body.length !== header.bytes) throw new CorruptCatalogError('the body has the wrong length');
  if (digest(body) !== header.sha1) throw new CorruptCatalogError('the body does not match its checksum');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CorruptCatalogError('the body is not JSON');
  }
  const shallow = z
    .object({
      builtMs: z.number(),
      accounts: z.array(z.unknown()),
      sessions: z.array(catalogSessionSchema.omit({ accountErrors: true })),
      holders: z.array(z.string()),
      invalid: z.array(catalogInvalidSchema),
    })
    .safeParse(value);
  if (!shallow.success) throw new CorruptCatalogError('the body is not a catalog');
  const catalog = value as CatalogBody;
  if (catalog.holders.length !== catalog.accounts.length)
    throw new CorruptCatalogError('holders do not match the accounts');
  return catalog;
}

/** Checks one session entry fully (tests). */
export function isWellFormedSession(value: unknown): value is CatalogSession {
  return catalogSessionSchema.safeParse(value).success;
}
