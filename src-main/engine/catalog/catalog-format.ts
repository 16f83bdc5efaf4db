import crypto from 'node:crypto';
import { z } from 'zod';
import { sessionStatuses, type AccountStatus } from '../target/manifest';

/**
 * `<target>/catalog/catalog.json`: a compact index of every session's manifest, so that query and
 * plan answer without reading thousands of manifests. The manifests stay the truth: the catalog
 * records, per session, the size and mtime of the manifest it was read from, and an entry whose
 * manifest changed, vanished or appeared is read again (docs/backup-target.md, "The catalog").
 *
 * The file is two lines: a header `{"format":1,"sha256":"…","bytes":N}` and the body, a JSON
 * object whose SHA-256 the header gives, so a damaged catalog is detected (and rebuilt), never
 * believed. Accounts are interned once in `accounts`; sessions refer to them by index, with their
 * statuses as one character each (`statusCodes`), so 5,000 sessions of 200 accounts stay a few MiB.
 */
export const CATALOG_FORMAT = 1;
export const CATALOG_DIR = 'catalog';
export const CATALOG_FILE = 'catalog.json';

/** One character per account status, in the manifest's order. */
export const STATUS_CODES: Record<AccountStatus, string> = {
  NOTSTARTED: 'N',
  INPROGRESS: 'P',
  COMPLETED: 'C',
  ERROR: 'E',
};
const STATUS_BY_CODE = new Map(Object.entries(STATUS_CODES).map(([status, code]) => [code, status]));

export function accountStatusOf(code: string): AccountStatus {
  const status = STATUS_BY_CODE.get(code);
  if (!status) throw new Error(`catalog: unknown account status code ${code}`);
  return status as AccountStatus;
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
  /** Indexes into the catalog's `accounts`. */
  accounts: z.array(z.number()),
  statusCodes: z.string(),
  bytes: z.array(z.number()),
  /** When each account's snapshot began (its maintenance start); null when it had none. */
  snapshotMs: z.array(z.number().nullable()),
  /** Error messages of accounts in ERROR, by position in `accounts`. */
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
  invalid: z.array(catalogInvalidSchema),
});
export type CatalogBody = z.infer<typeof catalogBodySchema>;

const headerSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number(),
});

export function encodeCatalog(body: CatalogBody): string {
  const text = JSON.stringify(body);
  const sha256 = crypto.createHash('sha256').update(text).digest('hex');
  return `${JSON.stringify({ format: CATALOG_FORMAT, sha256, bytes: Buffer.byteLength(text) })}\n${text}\n`;
}

export class CorruptCatalogError extends Error {}

/**
 * Reads a catalog file's text; throws CorruptCatalogError when the header, the checksum or the
 * shape is wrong. The sessions' arrays are checked for shape only where it is cheap: the
 * checksum already proves the body is what a catalog writer wrote.
 */
export function decodeCatalog(text: string): CatalogBody {
  const newline = text.indexOf('\n');
  if (newline < 0) throw new CorruptCatalogError('no header line');
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(text.slice(0, newline)));
  } catch {
    throw new CorruptCatalogError('the header is not a catalog header of this format');
  }
  const body = text.slice(newline + 1).replace(/\n$/, '');
  if (Buffer.byteLength(body) !== header.bytes)
    throw new CorruptCatalogError('the body has the wrong length');
  if (crypto.createHash('sha256').update(body).digest('hex') !== header.sha256)
    throw new CorruptCatalogError('the body does not match its checksum');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new CorruptCatalogError('the body is not JSON');
  }
  const shallow = z
    .object({
      builtMs: z.number(),
      accounts: z.array(z.unknown()),
      sessions: z.array(z.unknown()),
      invalid: z.array(catalogInvalidSchema),
    })
    .safeParse(value);
  if (!shallow.success) throw new CorruptCatalogError('the body is not a catalog');
  const catalog = value as CatalogBody;
  for (const s of catalog.sessions) {
    if (
      typeof s !== 'object' ||
      s === null ||
      !Array.isArray(s.accounts) ||
      s.statusCodes?.length !== s.accounts.length ||
      s.bytes?.length !== s.accounts.length ||
      s.snapshotMs?.length !== s.accounts.length
    )
      throw new CorruptCatalogError('a session entry is malformed');
  }
  return catalog;
}

/** Checks one session entry fully (used in tests, and on entries carried over between builds). */
export function isWellFormedSession(value: unknown): value is CatalogSession {
  return catalogSessionSchema.safeParse(value).success;
}
