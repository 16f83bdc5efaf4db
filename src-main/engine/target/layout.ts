import path from 'node:path';
import { InvalidAccountIdError, UnsafePathError } from './errors';
import { assertLabel } from './labels';

/**
 * Where things live in a backup target (docs/backup-target.md):
 *
 *   <target>/sessions/<label>/   committed sessions (complete iff manifest.json exists and validates)
 *   <target>/tmp/<label>/        sessions being written, with their live status.json
 *   <target>/redologs/           archived redo logs brought in by incrementals
 *   <target>/lock                one writer at a time
 *
 * Paths inside a session are relative and '/'-separated: they are also the keys of the
 * manifest's `files` map, the same on every platform.
 */
export interface TargetPaths {
  root: string;
  sessions: string;
  tmp: string;
  redologs: string;
  lock: string;
}

export function targetPaths(target: string): TargetPaths {
  const root = path.resolve(target);
  return {
    root,
    sessions: path.join(root, 'sessions'),
    tmp: path.join(root, 'tmp'),
    redologs: path.join(root, 'redologs'),
    lock: path.join(root, 'lock'),
  };
}

/** `<target>/sessions/<label>`: where a session lives once committed. */
export function sessionDir(target: string, label: string): string {
  return path.join(targetPaths(target).sessions, assertLabel(label));
}

/** `<target>/tmp/<label>`: where a session is written until it is committed. */
export function tmpSessionDir(target: string, label: string): string {
  return path.join(targetPaths(target).tmp, assertLabel(label));
}

/** Fixed files and folders inside a session. */
export const SESSION_FILES = {
  manifest: 'manifest.json',
  status: 'status.json',
  sysDir: 'sys',
  localconfig: 'sys/localconfig.xml',
  ldapDir: 'ldap',
  directoryLdif: 'ldap/directory.ldif',
  accountsDir: 'accounts',
} as const;

const TABLE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

/** `sys/<table>.sql`: the dump of one system table of the `zimbra` database. */
export function systemTableDumpPath(table: string): string {
  if (!TABLE_NAME.test(table)) throw new UnsafePathError(table, 'not a MariaDB table name');
  return `${SESSION_FILES.sysDir}/${table}.sql`;
}

const ZIMBRA_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Zimbra ids (zimbraId) are UUIDs. Any case is accepted; paths use lower case. */
export function isZimbraId(value: string): boolean {
  return ZIMBRA_ID.test(value);
}

export function assertZimbraId(value: string): string {
  if (!isZimbraId(value)) throw new InvalidAccountIdError(value);
  return value;
}

/** Paths of one account's files inside a session, relative to the session directory. */
export interface AccountPaths {
  /** `accounts/<id[0:3]>/<id[3:6]>/<zimbraId>` (Zimbra NE's bucketing, depth 2). */
  dir: string;
  /** The account's LDAP entry, for `ldapadd -f`. */
  ldif: string;
  /** The mailbox's rows as SQL the stock `mariadb` client loads. */
  mailboxSql: string;
  /** Blobs as one zip (stored or deflated), or as plain files under blobsDir with --noZip. */
  blobsZip: string;
  blobsDir: string;
  /**
   * Blobs whose content another name in the session holds (hard links Zimbra made): one line
   * `<name>\t<zimbraId>\t<entry>` each; absent when there are none.
   */
  sharedBlobs: string;
  /** The Lucene index, likewise. */
  indexZip: string;
  indexDir: string;
}

export function accountPaths(zimbraId: string): AccountPaths {
  const id = assertZimbraId(zimbraId).toLowerCase();
  const dir = `${SESSION_FILES.accountsDir}/${id.slice(0, 3)}/${id.slice(3, 6)}/${id}`;
  return {
    dir,
    ldif: `${dir}/ldap.ldif`,
    mailboxSql: `${dir}/mailbox.sql`,
    blobsZip: `${dir}/blobs.zip`,
    blobsDir: `${dir}/blobs`,
    sharedBlobs: `${dir}/blobs-shared.tsv`,
    indexZip: `${dir}/index.zip`,
    indexDir: `${dir}/index`,
  };
}

/**
 * Checks a '/'-separated relative path that names something inside a session or an archive:
 * no absolute paths or drive letters, no `.`/`..`/empty segments, no backslashes, NUL or other
 * control characters. Returns it unchanged.
 */
export function assertSafeRelativePath(value: string): string {
  const reason = unsafeRelativePathReason(value);
  if (reason) throw new UnsafePathError(value, reason);
  return value;
}

export function unsafeRelativePathReason(value: string): string | null {
  if (value.length === 0) return 'empty';
  if (value.length > 4096) return 'longer than 4096 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains NUL or a control character';
  if (value.includes('\\')) return 'contains a backslash';
  if (value.startsWith('/')) return 'absolute';
  if (/^[A-Za-z]:/.test(value)) return 'starts with a drive letter';
  for (const segment of value.split('/')) {
    if (segment === '') return 'has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (Buffer.byteLength(segment) > 255) return 'has a name longer than 255 bytes';
  }
  return null;
}

/** The absolute path of a safe relative path under root; throws if it would land elsewhere. */
export function resolveInside(root: string, relative: string): string {
  assertSafeRelativePath(relative);
  const base = path.resolve(root);
  const full = path.resolve(base, ...relative.split('/'));
  const back = path.relative(base, full);
  if (back === '' || back === '..' || back.startsWith(`..${path.sep}`) || path.isAbsolute(back)) {
    throw new UnsafePathError(relative, `resolves outside ${base}`);
  }
  return full;
}
