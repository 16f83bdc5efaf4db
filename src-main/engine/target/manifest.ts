import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TargetError } from './errors';
import { isLabel, parseLabel } from './labels';
import { accountPaths, isZimbraId, SESSION_FILES, unsafeRelativePathReason } from './layout';

/**
 * The session manifest, `manifest.json`: written last, it is what makes a session complete.
 * Readers validate it with `manifestSchema` and never trust one that fails (docs/backup-target.md).
 */
export const MANIFEST_FORMAT = 1;

export const sessionStatuses = [
  'in progress',
  'completed',
  'completed with errors',
  'aborted',
  'failed',
] as const;
export type SessionStatus = (typeof sessionStatuses)[number];
export const accountStatuses = ['NOTSTARTED', 'INPROGRESS', 'COMPLETED', 'ERROR'] as const;
export type AccountStatus = (typeof accountStatuses)[number];
export const zipModes = ['store', 'deflate', 'none'] as const;
/** store: zip without compression (the default); deflate: compressed zip; none: plain files. */
export type ZipMode = (typeof zipModes)[number];

const ms = z.int().nonnegative();
const range = z
  .object({ min: z.int().nonnegative(), max: z.int().nonnegative() })
  .refine((r) => r.min <= r.max, 'min is greater than max');

export const fileRecordSchema = z.object({
  bytes: z.int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a lower-case hex SHA-256'),
});
export type FileRecord = z.infer<typeof fileRecordSchema>;

const zimbraId = z.string().refine(isZimbraId, 'not a Zimbra id (UUID)');

/**
 * An archived redo log an incremental brought into `<target>/redologs/` (outside the session
 * directory, so its checksum is kept here rather than in `files`).
 */
export const redoLogRecordSchema = z.object({
  name: z.string().regex(/^redo-\d{8}\.\d{6}\.\d{3}-seq\d+\.log$/, 'not an archived redo log name'),
  seq: z.int().nonnegative(),
  bytes: z.int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a lower-case hex SHA-256'),
  /** Op times read from the records; null for a log without ops. */
  firstOpMs: ms.nullable(),
  lastOpMs: ms.nullable(),
});
export type RedoLogRecord = z.infer<typeof redoLogRecordSchema>;

export const manifestAccountSchema = z.object({
  zimbraId,
  email: z.string().min(1),
  /** Null when the account has no mailbox yet (Zimbra creates it on first use). */
  mailboxId: z.int().positive().nullable(),
  status: z.enum(accountStatuses),
  error: z.string().optional(),
  /** Sum of the bytes of `files`. */
  bytes: z.int().nonnegative(),
  /** When the account was in maintenance mode; null if it never was in this session. */
  maintenance: z.object({ startMs: ms, endMs: ms }).nullable(),
  /** The account's files, keys of the manifest's `files`. */
  files: z.array(z.string()),
});
export type ManifestAccount = z.infer<typeof manifestAccountSchema>;

export const manifestErrorSchema = z.object({
  zimbraId: z.string().optional(),
  email: z.string().optional(),
  message: z.string().min(1),
  detail: z.string().optional(),
});
export type ManifestError = z.infer<typeof manifestErrorSchema>;

const manifestObject = z.object({
  format: z.literal(MANIFEST_FORMAT),
  label: z.string().refine(isLabel, 'not a session label'),
  type: z.enum(['full', 'incremental']),
  server: z.object({ hostname: z.string().min(1), zimbraId }),
  engineVersion: z.string().min(1),
  startMs: ms,
  endMs: ms,
  status: z.enum(sessionStatuses),
  /** Redo log sequence numbers and op times the session covers; null when it has none. */
  redo: z.object({ seq: range.nullable(), timeMs: range.nullable() }),
  options: z.object({ zip: z.enum(zipModes), blobs: z.boolean(), index: z.boolean() }),
  accounts: z.array(manifestAccountSchema),
  errors: z.array(manifestErrorSchema),
  /** Incrementals: the redo logs this session brought into `<target>/redologs/`, by sequence. */
  redoLogs: z.array(redoLogRecordSchema).optional(),
  /** Things the administrator should know that are not errors (a server setting, say). */
  warnings: z.array(z.string().min(1)).optional(),
  /** Every file of the session but manifest.json: relative '/'-separated path → size and SHA-256. */
  files: z.record(z.string(), fileRecordSchema),
});
export type Manifest = z.infer<typeof manifestObject>;

export const manifestSchema = manifestObject.superRefine((m, ctx) => {
  const issue = (message: string, at: (string | number)[]): void =>
    ctx.addIssue({ code: 'custom', message, path: at });
  if (isLabel(m.label)) {
    const parsed = parseLabel(m.label);
    if (parsed.type !== m.type) issue(`type ${m.type} does not match label ${m.label}`, ['type']);
    if (parsed.startMs !== m.startMs)
      issue(`startMs ${m.startMs} is not the time of label ${m.label}`, ['startMs']);
  }
  if (m.endMs < m.startMs) issue('endMs is before startMs', ['endMs']);
  if (m.status === 'in progress') issue('a committed session cannot be "in progress"', ['status']);
  (m.redoLogs ?? []).forEach((log, i) => {
    if (!log.name.endsWith(`-seq${log.seq}.log`))
      issue(`${log.name} is not sequence ${log.seq}`, ['redoLogs', i]);
    const previous = m.redoLogs![i - 1];
    if (previous && log.seq <= previous.seq)
      issue('redo logs are not in increasing sequence', ['redoLogs', i]);
  });
  for (const key of Object.keys(m.files)) {
    const reason = unsafeRelativePathReason(key);
    if (reason) issue(`unsafe file path: ${reason}`, ['files', key]);
    if (key === SESSION_FILES.manifest) issue('the manifest does not list itself', ['files', key]);
  }
  const seen = new Set<string>();
  m.accounts.forEach((account, i) => {
    const id = account.zimbraId.toLowerCase();
    if (seen.has(id)) issue(`account ${account.zimbraId} is listed twice`, ['accounts', i]);
    seen.add(id);
    if (account.status === 'ERROR' && !account.error)
      issue('an account in ERROR needs its error', ['accounts', i, 'error']);
    if (account.status === 'ERROR' && m.status === 'completed')
      issue('a completed session has an account in ERROR', ['status']);
    if (account.maintenance && account.maintenance.endMs < account.maintenance.startMs) {
      issue('maintenance ends before it starts', ['accounts', i, 'maintenance']);
    }
    const dir = isZimbraId(account.zimbraId) ? `${accountPaths(account.zimbraId).dir}/` : null;
    let bytes = 0;
    for (const file of account.files) {
      const record = m.files[file];
      if (!record) issue(`account file ${file} is not in files`, ['accounts', i, 'files']);
      else bytes += record.bytes;
      if (dir && !file.startsWith(dir))
        issue(`account file ${file} is outside ${dir}`, ['accounts', i, 'files']);
    }
    if (bytes !== account.bytes)
      issue(`bytes ${account.bytes} is not the sum of the account's files (${bytes})`, [
        'accounts',
        i,
        'bytes',
      ]);
  });
});

/** Validates a manifest object (e.g. before writing it); throws INVALID_MANIFEST with every problem. */
export function validateManifest(value: unknown, source = 'manifest'): Manifest {
  const result = manifestSchema.safeParse(value);
  if (!result.success)
    throw new TargetError('INVALID_MANIFEST', `${source} is invalid:\n${z.prettifyError(result.error)}`);
  return result.data;
}

export function parseManifest(text: string, source = 'manifest'): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TargetError('INVALID_MANIFEST', `${source} is not JSON: ${(error as Error).message}`);
  }
  return validateManifest(value, source);
}

/** Beyond this a "manifest" is not one (V8 strings stop at about 512 MiB anyway). */
const MAX_MANIFEST_BYTES = 256 * 2 ** 20;

/**
 * A manifest is a regular file the engine wrote: a FIFO or a device (/dev/zero) in its place
 * would hang the listing, and a symbolic link could lead anywhere; opened without following
 * links and without blocking, then checked with fstat.
 */
async function readRegularFile(file: string): Promise<string> {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const handle = await fs.promises.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_MANIFEST_BYTES) throw new Error(`${stat.size} bytes is too large for a manifest`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export type ManifestReading =
  { state: 'complete'; manifest: Manifest } | { state: 'missing' } | { state: 'invalid'; reason: string };

/**
 * Reads `<dir>/manifest.json`. A session whose manifest is missing or invalid, or names another
 * label than its directory, is not complete, whatever else it holds.
 */
export async function readManifest(dir: string): Promise<ManifestReading> {
  const file = path.join(dir, SESSION_FILES.manifest);
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'invalid', reason: `${file} cannot be read: ${(error as Error).message}` };
  }
  try {
    const manifest = parseManifest(text, file);
    const name = path.basename(dir);
    if (isLabel(name) && manifest.label !== name) {
      return { state: 'invalid', reason: `${file} names label ${manifest.label}, not ${name}` };
    }
    return { state: 'complete', manifest };
  } catch (error) {
    return { state: 'invalid', reason: (error as Error).message };
  }
}
