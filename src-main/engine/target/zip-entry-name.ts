import { UnsafePathError } from './errors';
import { assertSafeRelativePath } from './layout';

/**
 * Checks an entry name before it goes into a zip, and claims it: safe and relative, no leading
 * "word:" (zip tools take it for a Windows drive and would extract the entry under another name),
 * and not already in the archive. Both zip writers (stored and deflate) use it.
 */
export function claimEntryName(names: Set<string>, name: string, zipPath: string): void {
  assertSafeRelativePath(name);
  if (/^\w+:/.test(name))
    throw new UnsafePathError(name, 'starts with a "prefix:" that zip tools treat as a drive');
  if (names.has(name)) throw new UnsafePathError(name, `is already in ${zipPath}`);
  names.add(name);
}
