import fs from 'node:fs';
import path from 'node:path';
import { isLabel } from '../target/labels';
import { SESSION_FILES, targetPaths } from '../target/layout';
import {
  CATALOG_DIR,
  CATALOG_FILE,
  COLUMNS_FILE,
  CorruptCatalogError,
  decodeCatalog,
  decodePart,
  HOLDERS_FILE,
  HoldersFile,
  type CatalogBody,
  type FileStamp,
  type SessionColumns,
} from './catalog-format';

/** Where the catalog's files are, and reading them and the manifests' stamps from disk. */

export const catalogFile = (target: string): string =>
  path.join(targetPaths(target).root, CATALOG_DIR, CATALOG_FILE);

/** The parts of a catalog beyond catalog.json, each loaded when a question needs it. */
export type CatalogPart = 'columns' | 'holders';

export const partFile = (target: string, name: string) =>
  path.join(targetPaths(target).root, CATALOG_DIR, name);

export function stampOf(file: string): FileStamp | null {
  try {
    const st = fs.statSync(file);
    return { bytes: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export const sameStamp = (a: FileStamp | null, b: FileStamp | null): boolean =>
  a === b || (a !== null && b !== null && a.bytes === b.bytes && a.mtimeMs === b.mtimeMs && a.ino === b.ino);

/**
 * Session labels in sessions/ and the stamp of each one's manifest.json, as they are now. Plain
 * synchronous stats: the inodes are cached after the first look, and 5,000 stats in a row cost
 * less than handing each to the thread pool.
 */
export function currentStamps(target: string, known: ReadonlySet<string>): Map<string, FileStamp | null> {
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

export async function readCatalogFile(
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
export async function readPart(
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
