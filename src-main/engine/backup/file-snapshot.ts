import fs from 'node:fs';
import path from 'node:path';
import { openArchiveWriter, type ArchiveResult, type ArchiveWriter } from '../target/archive';
import type { ZipMode } from '../target/manifest';
import { ZipReader } from '../target/zip-reader';
import { openThreadedZipWriter, ThreadedZipWriter } from '../target/zip-thread';
import { LocalTransport } from '../transport/local-transport';
import type { RemoteFileInfo, Transport } from '../transport/types';
import type { LinkedFile, SharedBlobRef, SharedBlobs } from './shared-blobs';

/**
 * A mailbox's files (blobs on each message volume, or its index) as they were at one instant,
 * copied mostly *before* that instant: `preCopy` streams everything into a staging archive while
 * the account is live; `catchUp`, inside the maintenance window, walks again and reads only what
 * is new or changed (blobs are write-once, Lucene segments too); `finish`, after the account is
 * back, completes the archive — rebuilding it without the files deleted meanwhile, the one case
 * where the staging archive holds something the instant did not.
 */
export interface SnapshotSource {
  /** Directory on the server. */
  root: string;
  /** Prefix of its files' names in the archive ('' or e.g. '1/' for message volume 1). */
  prefix: string;
}

/** Files per request to the archive thread: few messages, yet an abort is not long in coming. */
const THREAD_BATCH_FILES = 128;

/** Entries up to this size are read whole and added as buffers (see preCopy). */
const WHOLE_ENTRY_BYTES = 1024 * 1024;

async function readWhole(content: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  nlink: number;
}

const seenOf = (f: RemoteFileInfo): Seen => ({
  size: f.size,
  mtimeMs: f.mtimeMs,
  ino: f.ino,
  dev: f.dev,
  nlink: f.nlink,
});

const changed = (a: Seen, b: RemoteFileInfo) =>
  a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino;

const inodeKey = (f: { dev: number; ino: number }) => `${f.dev}:${f.ino}`;

/** Hard-linked blobs stored once per session (see shared-blobs.ts); for blob snapshots only. */
export interface SnapshotSharing {
  shared: SharedBlobs;
  /** The account this snapshot belongs to: a second name within it refers to its own entry. */
  owner: string;
}

interface Link {
  ref: SharedBlobRef;
  seen: Seen;
  source: SnapshotSource;
  rel: string;
}

export class FileSnapshot {
  private readonly copied = new Map<string, Seen>();
  private readonly late = new Map<string, { data: Buffer; mtimeMs: number; seen: Seen }>();
  /** Names whose content is stored elsewhere in the session (or under another name here). */
  private readonly links = new Map<string, Link>();
  private readonly dropped = new Set<string>();
  private writer: ArchiveWriter | ThreadedZipWriter | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly sources: SnapshotSource[],
    /** `<staging>/<name>`: the archive is built here, then moved into the session. */
    private readonly stagingBase: string,
    private readonly mode: ZipMode,
    private readonly sharing?: SnapshotSharing,
  ) {}

  /** Where this file's content is already stored, if it is a further name of a stored inode. */
  private storedCopyOf(file: RemoteFileInfo, ownStored: Map<string, string>): SharedBlobRef | undefined {
    if (!this.sharing || file.nlink < 2) return undefined;
    const own = ownStored.get(inodeKey(file));
    if (own !== undefined) return { zimbraId: this.sharing.owner, entry: own };
    return this.sharing.shared.find(file);
  }

  /** This archive's multi-linked entries by inode, as they stand (for own references). */
  private ownStored(): Map<string, string> {
    const stored = new Map<string, string>();
    if (!this.sharing) return stored;
    for (const [name, seen] of this.copied)
      if (seen.nlink > 1 && !this.dropped.has(name) && !stored.has(inodeKey(seen)))
        stored.set(inodeKey(seen), name);
    for (const [name, file] of this.late)
      if (file.seen.nlink > 1 && !stored.has(inodeKey(file.seen))) stored.set(inodeKey(file.seen), name);
    return stored;
  }

  /** What the session's registry should learn once the account has completed. */
  storedLinkedFiles(): LinkedFile[] {
    return [...this.ownStored().entries()].map(([key, name]) => {
      const [dev, ino] = key.split(':').map(Number);
      return { name, dev: dev!, ino: ino! };
    });
  }

  /** Names to write to blobs-shared.tsv, with where their content is. */
  sharedReferences(): Map<string, SharedBlobRef> {
    return new Map([...this.links.entries()].map(([name, link]) => [name, link.ref]));
  }

  /** `files` as listed: their listed sizes and mtimes are trusted (pre-copy only, see catchUp). */
  private async copy(
    source: SnapshotSource,
    files: RemoteFileInfo[] | string[],
    into: (
      name: string,
      entry: {
        content: NodeJS.ReadableStream;
        size: number;
        mtimeMs: number;
        data?: Buffer;
        parts?: readonly Buffer[];
      },
    ) => Promise<void>,
  ): Promise<void> {
    if (files.length === 0) return;
    // The listing's sizes and mtimes spare a stat per file; catchUp compares them with a new listing.
    const listed = typeof files[0] === 'string' ? undefined : (files as RemoteFileInfo[]);
    const paths = listed ? listed.map((f) => f.path) : (files as string[]);
    for await (const entry of this.transport.readFiles(source.root, paths, { listed }))
      await into(`${source.prefix}${entry.path}`, entry);
  }

  /**
   * The staging archive's writer. A stored zip is built on an archive thread (zip-thread.ts):
   * locally the thread reads the server's files itself; over SSH it is handed what the link
   * brings (the main thread decrypts and splits the tar stream, the thread takes the CRC-32s,
   * the SHA-256 and the writes). Either way the main thread stays free for the directory, the
   * database and the previous account's rows.
   */
  private async openWriter(): Promise<ArchiveWriter | ThreadedZipWriter> {
    if (this.mode === 'store') {
      const threaded = await openThreadedZipWriter(this.stagingBase);
      if (threaded) return threaded;
    }
    return openArchiveWriter(this.stagingBase, this.mode);
  }

  /** Copies every file now present; the account is live and may change meanwhile. */
  async preCopy(): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.stagingBase), { recursive: true });
    const writer = await this.openWriter();
    this.writer = writer;
    for (const source of this.sources) {
      const files = await this.transport.walk(source.root);
      const byPath = new Map(files.map((f) => [f.path, f]));
      const store = async (list: RemoteFileInfo[]) => {
        if (writer instanceof ThreadedZipWriter && this.transport instanceof LocalTransport)
          return this.storeOnThread(writer, source, list);
        return this.copy(source, list, async (name, entry) => {
          const info = byPath.get(name.slice(source.prefix.length))!;
          const mtime = new Date(entry.mtimeMs);
          // A buffer entry costs archiver far less than a stream one: sizes and CRC go in the
          // local header (no data descriptor) and no stream is set up per entry. Blobs are
          // mostly small; only large files are streamed.
          // Pieces as they came (over SSH) go into the thread's batch as they are, never joined.
          if (entry.parts && writer instanceof ThreadedZipWriter)
            await writer.addParts(name, entry.parts, { mtime });
          else if (entry.data || entry.size <= WHOLE_ENTRY_BYTES)
            await writer.addBuffer(name, entry.data ?? (await readWhole(entry.content)), { mtime });
          else await writer.addStream(name, entry.content as never, { mtime });
          this.copied.set(name, { ...seenOf(info), size: entry.size, mtimeMs: entry.mtimeMs });
        });
      };
      // First names of each inode are stored; a further name becomes a reference once the
      // first is known to be in the archive (it may vanish before it is read).
      const first: RemoteFileInfo[] = [];
      const further: RemoteFileInfo[] = [];
      const claimed = new Set<string>();
      const sharing = this.sharing;
      for (const file of files) {
        const elsewhere = sharing && file.nlink > 1 ? sharing.shared.find(file) : undefined;
        if (elsewhere) this.link(source, file, elsewhere);
        // Another account in progress is storing it: catchUp finds it registered (or reads it).
        else if (sharing?.shared.claimedByOther(file, sharing.owner)) continue;
        else if (sharing && file.nlink > 1 && claimed.has(inodeKey(file))) further.push(file);
        else {
          if (file.nlink > 1) {
            claimed.add(inodeKey(file));
            sharing?.shared.claim(file, sharing.owner);
          }
          first.push(file);
        }
      }
      await store(first);
      const own = this.ownStored();
      const unresolved: RemoteFileInfo[] = [];
      for (const file of further) {
        const ref = this.storedCopyOf(file, own);
        if (ref) this.link(source, file, ref);
        else unresolved.push(file);
      }
      await store(unresolved);
    }
  }

  /** `list` read and stored by the archive thread, a batch at a time; what it found is recorded as copied. */
  private async storeOnThread(
    writer: ThreadedZipWriter,
    source: SnapshotSource,
    list: RemoteFileInfo[],
  ): Promise<void> {
    for (let at = 0; at < list.length; at += THREAD_BATCH_FILES) {
      const batch = list.slice(at, at + THREAD_BATCH_FILES);
      const listed = batch.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs }));
      const { sizes, mtimes } = await writer.addListed(
        source.root,
        source.prefix,
        listed,
        this.transport.name,
      );
      for (const [i, file] of batch.entries())
        if (sizes[i]! >= 0)
          this.copied.set(`${source.prefix}${file.path}`, {
            ...seenOf(file),
            size: sizes[i]!,
            mtimeMs: mtimes[i]!,
          });
    }
  }

  private link(source: SnapshotSource, file: RemoteFileInfo, ref: SharedBlobRef): void {
    this.links.set(`${source.prefix}${file.path}`, { ref, seen: seenOf(file), source, rel: file.path });
  }

  /** In the maintenance window: reads what appeared or changed since preCopy, notes what went. */
  async catchUp(): Promise<{ late: number; dropped: number }> {
    const present = new Set<string>();
    // Every source is listed at once; only the reads of what changed follow.
    const listings = await Promise.all(this.sources.map((source) => this.transport.walk(source.root)));
    const own = this.ownStored();
    const wanted = this.sources.map(() => [] as string[]);
    for (const [i, source] of this.sources.entries()) {
      for (const file of listings[i]!) {
        const name = `${source.prefix}${file.path}`;
        present.add(name);
        const stored = this.copied.get(name);
        const linked = this.links.get(name);
        if (stored && !changed(stored, file)) continue;
        if (linked && !changed(linked.seen, file)) continue;
        if (stored) this.dropped.add(name);
        if (linked) this.links.delete(name);
        const ref = this.storedCopyOf(file, own);
        const ownGone =
          ref !== undefined && ref.zimbraId === this.sharing?.owner && this.dropped.has(ref.entry);
        if (ref && !ownGone) this.link(source, file, ref);
        else wanted[i]!.push(file.path);
      }
    }
    for (const name of this.copied.keys()) if (!present.has(name)) this.dropped.add(name);
    for (const name of this.links.keys()) if (!present.has(name)) this.links.delete(name);
    // A name that referred to an entry of this archive now dropped must be read after all.
    for (const [name, link] of this.links) {
      if (link.ref.zimbraId === this.sharing?.owner && this.dropped.has(link.ref.entry)) {
        this.links.delete(name);
        wanted[this.sources.indexOf(link.source)]!.push(link.rel);
      }
    }
    for (const [i, source] of this.sources.entries()) {
      const byPath = new Map(listings[i]!.map((f) => [f.path, f]));
      await this.copy(source, wanted[i]!, async (name, entry) => {
        const data = entry.data ?? (await readWhole(entry.content));
        const info = byPath.get(name.slice(source.prefix.length))!;
        this.late.set(name, { data, mtimeMs: entry.mtimeMs, seen: seenOf(info) });
      });
    }
    return { late: this.late.size, dropped: this.dropped.size };
  }

  /** Every name the archive holds as of the catch-up, stored here or referred to elsewhere. */
  heldNames(): Set<string> {
    const names = new Set([...this.copied.keys()].filter((n) => !this.dropped.has(n)));
    for (const name of this.late.keys()) names.add(name);
    for (const name of this.links.keys()) names.add(name);
    return names;
  }

  /** Completes the staging archive as of the catch-up; returns it for the session to adopt. */
  async finish(): Promise<ArchiveResult> {
    const writer = this.writer;
    if (!writer) throw new Error('preCopy was not run');
    if (this.dropped.size === 0) {
      for (const [name, file] of this.late)
        await writer.addBuffer(name, file.data, { mtime: new Date(file.mtimeMs) });
      return writer.finish();
    }
    const first = await writer.finish();
    const firstPath = writer.path;
    const rebuiltBase = `${this.stagingBase}.rebuilt`;
    const rebuilt = await openArchiveWriter(rebuiltBase, this.mode);
    try {
      await this.copyKept(firstPath, rebuilt);
      for (const [name, file] of this.late)
        await rebuilt.addBuffer(name, file.data, { mtime: new Date(file.mtimeMs) });
      const result = await rebuilt.finish();
      await fs.promises.rm(firstPath, { recursive: true, force: true });
      // Give the rebuilt archive the staging name, so the caller finds it where it expects.
      await fs.promises.rename(rebuilt.path, firstPath);
      void first;
      return result;
    } catch (error) {
      await rebuilt.abort().catch(() => undefined);
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.sharing) this.sharing.shared.release(this.sharing.owner);
    await this.writer?.abort().catch(() => undefined);
  }

  private async copyKept(from: string, to: ArchiveWriter): Promise<void> {
    if (this.mode === 'none') {
      for (const name of this.copied.keys()) {
        if (!this.dropped.has(name)) await to.addFile(name, path.join(from, ...name.split('/')));
      }
      return;
    }
    const reader = await ZipReader.open(from);
    try {
      for (const entry of reader.entries) {
        if (entry.isDirectory || this.dropped.has(entry.name)) continue;
        await to.addStream(entry.name, await reader.openEntry(entry.name), { mtime: entry.mtime });
      }
    } finally {
      reader.close();
    }
  }
}
