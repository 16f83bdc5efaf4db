import zlib from 'node:zlib';
import { z } from 'zod';
import { sessionStatuses, type AccountStatus } from '../target/manifest';

/**
 * `<target>/catalog/catalog.json`: a compact index of every session's manifest, so that query and
 * plan answer without reading thousands of manifests. The manifests stay the truth: the catalog
 * records, per session, the size, mtime and inode of the manifest it was read from, and an entry
 * whose manifest changed, vanished or appeared is read again (docs/backup-target.md, "The
 * catalog").
 *
 * Three files, each two lines: a header `{"format":2,"generation":"…","crc32":"…","bytes":N}` and
 * a body, a JSON object in ASCII (other characters \u-escaped) whose CRC-32 the header gives, so
 * a damaged catalog is detected (and rebuilt), never believed. `catalog.json` holds the sessions'
 * scalars and the accounts; `columns.json` the sessions' per-account columns; `holders.json` the
 * index by account. A query reads only what it needs (a listing, catalog.json alone). The three
 * are written in that order, catalog.json last, and must carry the same generation: a set left
 * half-written by a crash does not match and is rebuilt. CRC-32 and ASCII because every query
 * pays for them: zlib's CRC runs at memory speed, and one-byte text decodes and parses fastest.
 *
 * Sized for 5,000 sessions of 200 accounts: a million account entries. JSON.parse is slow on a
 * million numbers and fast on a few long strings, so per-account columns are strings (numbers in
 * base 36, comma-separated), decoded only for the sessions or accounts a question touches; and
 * `holders` indexes them by account, so `-a` reads one string instead of every session.
 */
export const CATALOG_FORMAT = 2;
export const CATALOG_DIR = 'catalog';
export const CATALOG_FILE = 'catalog.json';
export const COLUMNS_FILE = 'columns.json';
export const HOLDERS_FILE = 'holders.txt';

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
  /** Error messages of accounts in ERROR, by position. */
  accountErrors: z.record(z.string(), z.string()),
});
export type CatalogSession = z.infer<typeof catalogSessionSchema>;

/** A session's accounts as columns, one item per account in the manifest's order (columns.json). */
export const sessionColumnsSchema = z.object({
  /** Indexes into the catalog's `accounts`, */
  accounts: z.string(),
  /** one status character each (STATUS_CODES), */
  statusCodes: z.string(),
  /** bytes, */
  bytes: z.string(),
  /** and when each account's snapshot began, as ms after startMs (empty: no maintenance window). */
  snapshots: z.string(),
});
export type SessionColumns = z.infer<typeof sessionColumnsSchema>;

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

/** columns.json: by session, in catalog.json's order. */
export type ColumnsBody = { columns: SessionColumns[] };
/**
 * holders.txt: by account index, where it is held: `session,position,status,bytes,snapshot`
 * items (numbers base 36, snapshot as in the columns), `;`-separated, in session order. One line
 * per account after a header line `{"format":2,"generation":"…","count":N}`, each line
 * `<crc32> <items>`: a question about one account checks and decodes that line only (the whole
 * index is a million items on a big target).
 */
const holdersHeaderSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  generation: z.string(),
  count: z.number(),
});

export function encodeHolders(generation: string, holders: string[]): Buffer {
  const lines = holders.map((h) => {
    const text = Buffer.from(h, 'latin1');
    return `${crc(text)} ${h}\n`;
  });
  return Buffer.from(
    `${JSON.stringify({ format: CATALOG_FORMAT, generation, count: holders.length })}\n${lines.join('')}`,
    'latin1',
  );
}

/** holders.txt as read: its lines found on first use, each checked when decoded. */
export class HoldersFile {
  private constructor(
    private readonly data: Buffer,
    private readonly starts: number[],
    readonly count: number,
  ) {}

  /**
   * Checks the header (format, generation, count) and that there is one line per account (a
   * memchr pass, cheap); throws CorruptCatalogError if not. Each line is checked when used.
   */
  static open(data: Buffer, generation: string, count: number): HoldersFile {
    const newline = data.indexOf(0x0a);
    let header: z.infer<typeof holdersHeaderSchema>;
    try {
      header = holdersHeaderSchema.parse(
        JSON.parse(data.subarray(0, Math.max(newline, 0)).toString('latin1')),
      );
    } catch {
      throw new CorruptCatalogError(`${HOLDERS_FILE}: the header is not a catalog header of this format`);
    }
    if (header.generation !== generation)
      throw new CorruptCatalogError(`${HOLDERS_FILE} is of another generation than ${CATALOG_FILE}`);
    if (header.count !== count)
      throw new CorruptCatalogError(`${HOLDERS_FILE}: does not match ${CATALOG_FILE}`);
    const starts = [newline + 1];
    for (let at = data.indexOf(0x0a, newline + 1); at >= 0; at = data.indexOf(0x0a, at + 1))
      starts.push(at + 1);
    if (starts.length !== count + 1 || starts.at(-1) !== data.length)
      throw new CorruptCatalogError(`${HOLDERS_FILE}: not one line per account`);
    return new HoldersFile(data, starts, count);
  }

  /** The items of account `index`; throws CorruptCatalogError when its line is damaged. */
  line(index: number): string {
    const line = this.data.subarray(this.starts[index]!, this.starts[index + 1]! - 1);
    if (line.length < 9 || line[8] !== 0x20)
      throw new CorruptCatalogError(`${HOLDERS_FILE}: line ${index + 2} is malformed`);
    const text = line.subarray(9);
    if (crc(text) !== line.subarray(0, 8).toString('latin1'))
      throw new CorruptCatalogError(`${HOLDERS_FILE}: line ${index + 2} does not match its checksum`);
    return text.toString('latin1');
  }
}

const headerSchema = z.object({
  format: z.literal(CATALOG_FORMAT),
  generation: z.string(),
  crc32: z.string().regex(/^[0-9a-f]{8}$/),
  bytes: z.number(),
});

const crc = (data: Buffer) => zlib.crc32(data).toString(16).padStart(8, '0');

export function encodeCatalogFile(generation: string, body: object): Buffer {
  const json = JSON.stringify(body).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const text = Buffer.from(json, 'latin1');
  const header = JSON.stringify({ format: CATALOG_FORMAT, generation, crc32: crc(text), bytes: text.length });
  return Buffer.concat([Buffer.from(`${header}\n`), text, Buffer.from('\n')]);
}

export class CorruptCatalogError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Header and checksum of one catalog file; its body parsed, and its generation. */
function decodeFile(data: Buffer, what: string): { generation: string; value: Record<string, unknown> } {
  const newline = data.indexOf(0x0a);
  if (newline < 0) throw new CorruptCatalogError(`${what}: no header line`);
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(data.subarray(0, newline).toString('latin1')));
  } catch {
    throw new CorruptCatalogError(`${what}: the header is not a catalog header of this format`);
  }
  const end = data.length > 0 && data[data.length - 1] === 0x0a ? data.length - 1 : data.length;
  const body = data.subarray(newline + 1, end);
  if (body.length !== header.bytes) throw new CorruptCatalogError(`${what}: the body has the wrong length`);
  if (crc(body) !== header.crc32)
    throw new CorruptCatalogError(`${what}: the body does not match its checksum`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('latin1'));
  } catch {
    throw new CorruptCatalogError(`${what}: the body is not JSON`);
  }
  if (!isObject(value)) throw new CorruptCatalogError(`${what}: the body is not an object`);
  return { generation: header.generation, value };
}

/**
 * Reads catalog.json; throws CorruptCatalogError when the header, the checksum or the shape is
 * wrong. The checksum proves the body is what a catalog writer wrote, so the shape is checked
 * where it is cheap (the types of what every query reads).
 */
export function decodeCatalog(data: Buffer): { generation: string; body: CatalogBody } {
  const { generation, value } = decodeFile(data, CATALOG_FILE);
  if (
    typeof value.builtMs !== 'number' ||
    !Array.isArray(value.accounts) ||
    !Array.isArray(value.sessions) ||
    !Array.isArray(value.invalid)
  )
    throw new CorruptCatalogError(`${CATALOG_FILE}: the body is not a catalog`);
  for (const s of value.sessions as unknown[])
    if (
      !isObject(s) ||
      typeof s.label !== 'string' ||
      typeof s.startMs !== 'number' ||
      typeof s.accountCount !== 'number' ||
      !isObject(s.manifest) ||
      !Array.isArray(s.redoLogs)
    )
      throw new CorruptCatalogError(`${CATALOG_FILE}: a session entry is malformed`);
  if (!z.array(catalogInvalidSchema).safeParse(value.invalid).success)
    throw new CorruptCatalogError(`${CATALOG_FILE}: an invalid-session entry is malformed`);
  return { generation, body: value as unknown as CatalogBody };
}

/** Reads columns.json or holders.json of the given generation, with `length` entries. */
export function decodePart<K extends 'columns' | 'holders'>(
  data: Buffer,
  what: string,
  key: K,
  generation: string,
  length: number,
): unknown[] {
  const decoded = decodeFile(data, what);
  if (decoded.generation !== generation)
    throw new CorruptCatalogError(`${what} is of another generation than ${CATALOG_FILE}`);
  const list = decoded.value[key];
  if (!Array.isArray(list) || list.length !== length)
    throw new CorruptCatalogError(`${what}: does not match ${CATALOG_FILE}`);
  return list;
}

/** Checks one session entry fully (tests). */
export function isWellFormedSession(value: unknown): value is CatalogSession {
  return catalogSessionSchema.safeParse(value).success;
}
