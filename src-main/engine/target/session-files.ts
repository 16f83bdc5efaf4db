import fs from 'node:fs';
import path from 'node:path';
import { forEachLimited, fsyncDir, fsyncFile } from './durable-fs';
import { TargetError } from './errors';
import type { FileRecord } from './manifest';

/** What is on disk under a session directory: files ('/'-separated, relative) and directories. */
export interface SessionTree {
  files: Map<string, number>;
  dirs: string[];
}

/** Lists the session's files, leaving out those `skip` names (relative paths). */
export async function walkSession(
  root: string,
  skip: (relative: string) => boolean = () => false,
): Promise<SessionTree> {
  const files = new Map<string, number>();
  const dirs: string[] = [root];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = prefix + entry.name;
      if (skip(relative)) continue;
      if (entry.isDirectory()) {
        dirs.push(full);
        await walk(full, `${relative}/`);
      } else if (entry.isFile()) {
        files.set(relative, (await fs.promises.stat(full)).size);
      } else {
        throw new TargetError(
          'UNRECORDED_FILES',
          `${full} is not a regular file or directory; a session holds only files`,
        );
      }
    }
  };
  await walk(root, '');
  return { files, dirs };
}

/**
 * Checks that the files on disk are exactly the recorded ones, with the recorded sizes: the
 * manifest promises to cover every file of the session.
 */
export function checkRecorded(tree: SessionTree, recorded: ReadonlyMap<string, FileRecord>): void {
  const problems: string[] = [];
  for (const [file, size] of tree.files) {
    const record = recorded.get(file);
    if (!record) problems.push(`${file} was not written through the session writer`);
    else if (record.bytes !== size)
      problems.push(`${file} is ${size} bytes on disk, ${record.bytes} when written`);
  }
  for (const file of recorded.keys()) if (!tree.files.has(file)) problems.push(`${file} is missing`);
  if (problems.length > 0) {
    const shown =
      problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
    throw new TargetError('UNRECORDED_FILES', `The session's files do not match what was recorded: ${shown}`);
  }
}

/**
 * Makes every file and directory of the session durable, once, before the manifest promises
 * them: one fsync per file at the end (in parallel, which lets the file system batch its journal
 * commits) instead of one per write.
 */
export async function fsyncSession(root: string, tree: SessionTree, concurrency = 16): Promise<void> {
  await forEachLimited([...tree.files.keys()], concurrency, (file) =>
    fsyncFile(path.join(root, ...file.split('/'))),
  );
  await forEachLimited(tree.dirs, concurrency, fsyncDir);
}
