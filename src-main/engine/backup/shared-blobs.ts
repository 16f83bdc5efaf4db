import type { RemoteFileInfo } from '../transport/types';

/**
 * Blobs Zimbra hard-linked into several mailboxes (one message delivered to many recipients on
 * the same volume, or copied within a mailbox) are stored once per session: the first account
 * whose archive holds one registers it, and every later name for the same inode is written to
 * the account's `blobs-shared.tsv` as a reference instead of a second copy.
 *
 * Only accounts that completed register, so a reference never points into an archive that was
 * removed with a failed account. Keyed by device and inode as the server reports them: a
 * hard link cannot cross a filesystem, and Zimbra's blobs are write-once.
 */
export interface SharedBlobRef {
  /** The account whose blobs archive holds the content. */
  zimbraId: string;
  /** The entry's name in that archive (`<volume id>/<path under the mailbox directory>`). */
  entry: string;
}

export interface LinkedFile {
  name: string;
  dev: number;
  ino: number;
}

const keyOf = (f: { dev: number; ino: number }) => `${f.dev}:${f.ino}`;

export class SharedBlobs {
  private readonly stored = new Map<string, SharedBlobRef>();
  /**
   * Inodes an account still in progress is copying (its pre-copy decided to store them), by
   * account: while the next account's pre-copy overlaps this one's window, it leaves such a
   * file for its own catch-up, by when this account has registered it (or given it up).
   */
  private readonly claims = new Map<string, string>();

  /** The stored copy of this file's content, if it has other names and one is stored already. */
  find(file: RemoteFileInfo): SharedBlobRef | undefined {
    return file.nlink > 1 ? this.stored.get(keyOf(file)) : undefined;
  }

  /** Another account in progress is storing this file's content (see claims). */
  claimedByOther(file: RemoteFileInfo, zimbraId: string): boolean {
    if (file.nlink < 2) return false;
    const owner = this.claims.get(keyOf(file));
    return owner !== undefined && owner !== zimbraId;
  }

  /** Marks a multi-linked file as being stored by this account (see claims). */
  claim(file: RemoteFileInfo, zimbraId: string): void {
    if (file.nlink > 1 && !this.claims.has(keyOf(file))) this.claims.set(keyOf(file), zimbraId);
  }

  /** Drops an account's claims: it registered what it stored, or failed. */
  release(zimbraId: string): void {
    for (const [key, owner] of this.claims) if (owner === zimbraId) this.claims.delete(key);
  }

  /** Records the multi-linked files a completed account's archive holds; its claims end. */
  register(zimbraId: string, files: Iterable<LinkedFile>): void {
    for (const file of files) {
      const key = keyOf(file);
      if (!this.stored.has(key)) this.stored.set(key, { zimbraId, entry: file.name });
    }
    this.release(zimbraId);
  }

  get size(): number {
    return this.stored.size;
  }
}

/**
 * `blobs-shared.tsv`: one line per blob stored elsewhere in the session, `<name>\t<zimbraId of
 * the account holding it>\t<entry in that account's blobs archive>`, sorted by name. Tab-separated
 * so a shell loop (`while IFS=$'\t' read -r name id entry`) restores it with `unzip -p`.
 */
export function sharedBlobsTsv(links: Map<string, SharedBlobRef>): string {
  return [...links.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ref]) => `${name}\t${ref.zimbraId}\t${ref.entry}\n`)
    .join('');
}

export function parseSharedBlobsTsv(text: string): Array<{ name: string } & SharedBlobRef> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      const [name, zimbraId, entry, ...rest] = line.split('\t');
      if (!name || !zimbraId || !entry || rest.length > 0)
        throw new Error(`blobs-shared.tsv line ${i + 1} is not "<name>\\t<zimbraId>\\t<entry>": ${line}`);
      return { name, zimbraId, entry };
    });
}
