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
  /** Files linked to the same file in the live mailbox folder rather than written (same-file-link.ts). */
  linked: number;
  blobs: number;
  shared: number;
  index: number;
  bytes: number;
}

/** What a restore leaves as it is: --excludeBlobs the message volumes, --excludeSearchIndex the index volume. */
export interface KeptComponents {
  blobs?: boolean;
  index?: boolean;
}

/** The volumes whose mailbox folders a restore replaces: excluding a component means not touching it, not losing it. */
const replacedVolumes = (volumes: Volume[], keep: KeptComponents) =>
  volumes.filter((volume) => (volume.type === VOLUME_TYPE.index ? !keep.index : !keep.blobs));

/** Removes a mailbox's folders (a mailbox id the account had before, which the restore does not reuse). */
export async function removeMailboxFiles(
  files: ServerFiles,
  volumes: Volume[],
  mailboxId: number,
  keep: KeptComponents = {},
): Promise<void> {
  for (const volume of replacedVolumes(volumes, keep)) await files.removeTree(mailboxDir(volume, mailboxId));
}

/**
 * A restore writes a mailbox's files beside its folder on each volume, under this suffix, while
 * MariaDB loads its rows; once the rows are committed the folder is replaced by the staged one
 * (a rename on the same volume). Zimbra's mailbox folders are numbers, so a staged folder cannot
 * be taken for one, and a leftover of a killed run is known for what it is.
 */
export const STAGING_SUFFIX = '.mailvault-restore';

export const stagingDir = (volume: Volume, mailboxId: number) =>
  `${mailboxDir(volume, mailboxId)}${STAGING_SUFFIX}`;

/** The staging folders a restore of this mailbox writes (to record before writing them). */
export const stagingDirs = (volumes: Volume[], mailboxId: number, keep: KeptComponents = {}) =>
  replacedVolumes(volumes, keep).map((volume) => stagingDir(volume, mailboxId));

/** Removes the staged files (of a run that failed, or a killed run's leftovers before a new run stages). */
export async function removeStagedFiles(
  files: ServerFiles,
  volumes: Volume[],
  mailboxId: number,
  keep: KeptComponents = {},
): Promise<void> {
  for (const dir of stagingDirs(volumes, mailboxId, keep)) await files.removeTree(dir);
}

/**
 * After the rows are committed: each replaced volume's mailbox folder is removed and the staged
 * one renamed into its place (a volume with nothing staged, e.g. no blobs there, is just
 * emptied, as a restore always did).
 */
export async function putStagedFilesInPlace(
  files: ServerFiles,
  volumes: Volume[],
  mailboxId: number,
  keep: KeptComponents = {},
): Promise<void> {
  for (const volume of replacedVolumes(volumes, keep))
    await files.replaceTree(stagingDir(volume, mailboxId), mailboxDir(volume, mailboxId));
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
  /** Where a volume's files of the mailbox go: its mailbox folder unless staged (stagingDir). */
  folderOf?: (volume: Volume) => string;
  /** Stops between files, failing with the signal's reason (the rows' load failed). */
  signal?: AbortSignal;
  /**
   * The folder a staged volume folder replaces: a file it holds with the same name and bytes is
   * linked into the staged folder instead of written again (same-file-link.ts).
   */
  liveFolderOf?: (volume: Volume) => string;
}): Promise<FilesRestored> {
  const session = new SessionReader(sessionDir(options.target, options.manifest.label), options.manifest);
  const sink = fileSink(options.files);
  const paths = accountPaths(options.zimbraId);
  const out: FilesRestored = { linked: 0, blobs: 0, shared: 0, index: 0, bytes: 0 };
  const pool = new TaskPool(16);
  const byId = (id: string) => options.volumes.find((v) => String(v.id) === id);
  const folderOf = options.folderOf ?? ((volume: Volume) => mailboxDir(volume, options.mailboxId));
  const put = async (name: string, data: Buffer) => {
    options.signal?.throwIfAborted();
    const [volumeId, ...rest] = name.split('/');
    const volume = byId(volumeId ?? '');
    if (!volume || rest.length === 0)
      throw new Error(`${name}: names volume ${volumeId}, which this server does not have`);
    await sink.write(folderOf(volume), rest.join('/'), data, options.liveFolderOf?.(volume));
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
      // Where indexDir places the index under the mailbox folder, under the staged folder when staged.
      const underMailbox = path.relative(
        mailboxDir(indexVolume, options.mailboxId),
        indexDir(indexVolume, options.mailboxId),
      );
      const root = path.join(folderOf(indexVolume), underMailbox);
      const liveRoot = options.liveFolderOf && path.join(options.liveFolderOf(indexVolume), underMailbox);
      if (session.has(paths.indexZip)) {
        const zip = await session.zip(paths.indexZip);
        for (const entry of zip.entries)
          if (!entry.isDirectory)
            await pool.run(async () => {
              options.signal?.throwIfAborted();
              const data = await zip.readEntry(entry.name);
              await sink.write(root, entry.name, data, liveRoot);
              out.index++;
              out.bytes += data.length;
            });
        await pool.drain();
      } else
        for (const { name, file } of session.listed(paths.indexDir)) {
          options.signal?.throwIfAborted();
          const data = await session.plain(file);
          await sink.write(root, name, data, liveRoot);
          out.index++;
          out.bytes += data.length;
        }
    }
    await sink.flush();
    out.linked = sink.linked;
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
