import fs from 'node:fs';
import path from 'node:path';
import { openArchiveWriter, type ArchiveResult, type ArchiveWriter } from '../target/archive';
import type { ZipMode } from '../target/manifest';
import { ZipReader } from '../target/zip-reader';
import type { RemoteFileInfo, Transport } from '../transport/types';

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

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
}

const changed = (a: Seen, b: RemoteFileInfo) =>
  a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino;

export class FileSnapshot {
  private readonly copied = new Map<string, Seen>();
  private readonly late = new Map<string, { data: Buffer; mtimeMs: number }>();
  private readonly dropped = new Set<string>();
  private writer: ArchiveWriter | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly sources: SnapshotSource[],
    /** `<staging>/<name>`: the archive is built here, then moved into the session. */
    private readonly stagingBase: string,
    private readonly mode: ZipMode,
  ) {}

  private async copy(
    source: SnapshotSource,
    files: string[],
    into: (
      name: string,
      entry: { content: NodeJS.ReadableStream; size: number; mtimeMs: number },
    ) => Promise<void>,
  ): Promise<void> {
    if (files.length === 0) return;
    for await (const entry of this.transport.readFiles(source.root, files))
      await into(`${source.prefix}${entry.path}`, entry);
  }

  /** Copies every file now present; the account is live and may change meanwhile. */
  async preCopy(): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.stagingBase), { recursive: true });
    const writer = await openArchiveWriter(this.stagingBase, this.mode);
    this.writer = writer;
    for (const source of this.sources) {
      const files = await this.transport.walk(source.root);
      const byPath = new Map(files.map((f) => [f.path, f]));
      await this.copy(
        source,
        files.map((f) => f.path),
        async (name, entry) => {
          const info = byPath.get(name.slice(source.prefix.length))!;
          await writer.addStream(name, entry.content as never, { mtime: new Date(entry.mtimeMs) });
          this.copied.set(name, { size: entry.size, mtimeMs: entry.mtimeMs, ino: info.ino });
        },
      );
    }
  }

  /** In the maintenance window: reads what appeared or changed since preCopy, notes what went. */
  async catchUp(): Promise<{ late: number; dropped: number }> {
    const present = new Set<string>();
    // Every source is listed at once; only the reads of what changed follow.
    const listings = await Promise.all(this.sources.map((source) => this.transport.walk(source.root)));
    for (const [i, source] of this.sources.entries()) {
      const files = listings[i]!;
      const wanted: string[] = [];
      for (const file of files) {
        const name = `${source.prefix}${file.path}`;
        present.add(name);
        const before = this.copied.get(name);
        if (!before || changed(before, file)) wanted.push(file.path);
        if (before && changed(before, file)) this.dropped.add(name);
      }
      await this.copy(source, wanted, async (name, entry) => {
        const chunks: Buffer[] = [];
        for await (const chunk of entry.content) chunks.push(chunk as Buffer);
        this.late.set(name, { data: Buffer.concat(chunks), mtimeMs: entry.mtimeMs });
      });
    }
    for (const name of this.copied.keys()) if (!present.has(name)) this.dropped.add(name);
    return { late: this.late.size, dropped: this.dropped.size };
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
