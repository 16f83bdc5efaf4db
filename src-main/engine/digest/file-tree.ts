import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Relative path → SHA-256 of every regular file under `root` (empty when root is absent). */
export async function fileTreeDigest(
  root: string,
  keep: (name: string) => boolean = () => true,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && keep(entry.name)) {
        const hash = crypto.createHash('sha256');
        for await (const chunk of fs.createReadStream(full)) hash.update(chunk as Buffer);
        out[path.relative(root, full)] = hash.digest('hex');
      }
    }
  };
  await walk(root);
  return out;
}
