import fs from 'node:fs';
import path from 'node:path';
import { parseSharedBlobsTsv } from '../backup/shared-blobs';
import { indexDir, mailboxDir, VOLUME_TYPE, type Volume } from '../server/volumes';
import { accountPaths, resolveInside, sessionDir } from '../target/layout';
import type { Manifest } from '../target/manifest';
import { ZipReader } from '../target/zip-reader';
import type { ServerFiles } from '../replay/server-files';
import { fileSink, type FileSink } from './file-sink';

/**
 * A mailbox's files from a full session: its blobs (`<volume id>/<path under the mailbox
 * directory>` in blobs.zip, or plain files with --noZip), the blobs it shares with other
 * accounts (blobs-shared.tsv, read from the holder's archive), and its index. Archives are read
 * with ZipReader, which refuses the whole archive if one entry could escape (zip-slip).
 */
export interface FilesRestored {
  blobs: number;
  shared: number;
  index: number;
  bytes: number;
}

/**
 * Removes a mailbox's folders before its files are restored. What the restore excludes
 * (--excludeBlobs: the message volumes; --excludeSearchIndex: the index volume) is left as it is:
 * excluding a component means not touching it, not losing it.
 */
export async function removeMailboxFiles(
  files: ServerFiles,
  volumes: Volume[],
  mailboxId: number,
  keep: { blobs?: boolean; index?: boolean } = {},
): Promise<void> {
  for (const volume of volumes) {
    const isIndex = volume.type === VOLUME_TYPE.index;
    if ((isIndex && keep.index) || (!isIndex && keep.blobs)) continue;
    await files.removeTree(mailboxDir(volume, mailboxId));
  }
}

class SessionReader {
  private readonly zips = new Map<string, ZipReader>();

  constructor(
    readonly dir: string,
    readonly manifest: Manifest,
  ) {}

  has(file: string): boolean {
    return file in this.manifest.files;
  }

  async zip(file: string): Promise<ZipReader> {
    let reader = this.zips.get(file);
    if (!reader) {
      reader = await ZipReader.open(resolveInside(this.dir, file));
      this.zips.set(file, reader);
    }
    return reader;
  }

  /** A plain session file, refused if it is not a regular file (a link could lead anywhere). */
  async plain(file: string): Promise<Buffer> {
    const full = resolveInside(this.dir, file);
    const stat = await fs.promises.lstat(full);
    if (!stat.isFile()) throw new Error(`${file} in the session is not a regular file`);
    return fs.promises.readFile(full);
  }

  /** Plain files under a folder of the session, as listed by the manifest: relative name → session file. */
  listed(folder: string): Array<{ name: string; file: string }> {
    const prefix = `${folder}/`;
    return Object.keys(this.manifest.files)
      .filter((f) => f.startsWith(prefix))
      .map((file) => ({ name: file.slice(prefix.length), file }));
  }

  close(): void {
    for (const zip of this.zips.values()) zip.close();
  }
}

export async function restoreMailboxFiles(options: {
  target: string;
  manifest: Manifest;
  zimbraId: string;
  mailboxId: number;
  volumes: Volume[];
  files: ServerFiles;
  withIndex?: boolean;
  withBlobs?: boolean;
}): Promise<FilesRestored> {
  const session = new SessionReader(sessionDir(options.target, options.manifest.label), options.manifest);
  const sink = fileSink(options.files);
  const paths = accountPaths(options.zimbraId);
  const out: FilesRestored = { blobs: 0, shared: 0, index: 0, bytes: 0 };
  const pool = new TaskPool(16);
  const byId = (id: string) => options.volumes.find((v) => String(v.id) === id);
  const put = async (name: string, data: Buffer) => {
    const [volumeId, ...rest] = name.split('/');
    const volume = byId(volumeId ?? '');
    if (!volume || rest.length === 0)
      throw new Error(`${name}: names volume ${volumeId}, which this server does not have`);
    await sink.write(mailboxDir(volume, options.mailboxId), rest.join('/'), data);
    out.bytes += data.length;
  };
  try {
    if (options.withBlobs !== false) {
      if (session.has(paths.blobsZip)) {
        const zip = await session.zip(paths.blobsZip);
        for (const entry of zip.entries)
          if (!entry.isDirectory)
            await pool.run(async () => {
              await put(entry.name, await zip.readEntry(entry.name));
              out.blobs++;
            });
        await pool.drain();
      } else
        for (const { name, file } of session.listed(paths.blobsDir)) {
          await put(name, await session.plain(file));
          out.blobs++;
        }
      if (session.has(paths.sharedBlobs)) {
        const lines = parseSharedBlobsTsv((await session.plain(paths.sharedBlobs)).toString('utf8'));
        for (const line of lines) {
          const holder = accountPaths(line.zimbraId);
          const data = session.has(holder.blobsZip)
            ? await (await session.zip(holder.blobsZip)).readEntry(line.entry)
            : await session.plain(`${holder.blobsDir}/${line.entry}`);
          await put(line.name, data);
          out.shared++;
        }
      }
    }
    const indexVolume = options.volumes.find((v) => v.type === VOLUME_TYPE.index);
    if (options.withIndex !== false && indexVolume) {
      const root = indexDir(indexVolume, options.mailboxId);
      if (session.has(paths.indexZip)) {
        const zip = await session.zip(paths.indexZip);
        for (const entry of zip.entries)
          if (!entry.isDirectory)
            await pool.run(async () => {
              const data = await zip.readEntry(entry.name);
              await sink.write(root, entry.name, data);
              out.index++;
              out.bytes += data.length;
            });
        await pool.drain();
      } else
        for (const { name, file } of session.listed(paths.indexDir)) {
          const data = await session.plain(file);
          await sink.write(root, name, data);
          out.index++;
          out.bytes += data.length;
        }
    }
    await sink.flush();
  } finally {
    session.close();
  }
  return out;
}

/** Where a restored localconfig goes (-sys): beside the live one, never over it. */
export const restoredLocalconfigPath = (zimbraHome: string) =>
  path.posix.join(zimbraHome, 'conf/localconfig.xml.restored');

export type { FileSink };

/** At most `limit` entries read and written at once: small files cost latency, not bandwidth. */
class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
    while (this.running.size >= this.limit) await Promise.race(this.running);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure;
  }
}
