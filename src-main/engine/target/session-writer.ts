import fs from 'node:fs';
import path from 'node:path';
import { type ArchiveResult, type ArchiveWriter, observeArchive, openArchiveWriter } from './archive';
import { fsyncDir, writeFileAtomic } from './durable-fs';
import { TargetError } from './errors';
import { hashFile, HashingFileStream, writeHashedFile } from './hashing-file-stream';
import { newLabel, parseLabel, type SessionType } from './labels';
import { accountPaths, type AccountPaths, resolveInside, SESSION_FILES, targetPaths } from './layout';
import type { TargetLock } from './lock';
import { type FileRecord, type Manifest, validateManifest, type ZipMode } from './manifest';
import { checkRecorded, fsyncSession, type SessionTree, walkSession } from './session-files';
import { assembleManifest, type CommitInput } from './session-manifest';
import { type LiveStatusUpdate, StatusFile } from './session-status';

export type { CommitInput, ManifestAccountInput } from './session-manifest';

export interface SessionWriterOptions {
  type: SessionType;
  /** The target's lock, held by the caller: one writer per target. */
  lock: TargetLock;
  now?: () => number;
  /** Minimum time between two writes of status.json (default 500 ms: at most 2 a second). */
  statusIntervalMs?: number;
}

/**
 * Writes one session: everything goes into `tmp/<label>/` (reserved atomically), each file
 * hashed as it is written; `commit` then syncs the files, writes `manifest.json` atomically and
 * renames the directory into `sessions/`. Until then the session is not complete, whatever
 * happens to the process. See docs/backup-target.md, "Commit protocol".
 */
export class SessionWriter {
  private readonly files = new Map<string, FileRecord>();
  private readonly openStreams = new Set<HashingFileStream>();
  private readonly openArchives = new Set<ArchiveWriter>();
  private readonly madeDirs = new Set<string>();
  private bytes = 0;
  private state: 'open' | 'committing' | 'committed' | 'discarded' | 'broken' = 'open';

  private constructor(
    readonly target: string,
    readonly label: string,
    readonly type: SessionType,
    readonly startMs: number,
    readonly dir: string,
    private readonly status: StatusFile,
    private readonly now: () => number,
  ) {}

  static async create(target: string, options: SessionWriterOptions): Promise<SessionWriter> {
    const now = options.now ?? Date.now;
    const label = await newLabel(options.type, target, now);
    await options.lock.setLabel(label);
    const dir = path.join(targetPaths(target).tmp, label);
    const { startMs } = parseLabel(label);
    const status = new StatusFile(
      path.join(dir, SESSION_FILES.status),
      { label, type: options.type, startMs },
      options.statusIntervalMs,
    );
    await status.flush();
    return new SessionWriter(target, label, options.type, startMs, dir, status, now);
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  /** Files recorded so far (relative path → size and SHA-256). */
  get recordedFiles(): ReadonlyMap<string, FileRecord> {
    return this.files;
  }

  async writeFile(relative: string, data: string | Buffer): Promise<FileRecord> {
    const file = await this.prepare(relative);
    const record = await writeHashedFile(file, data);
    this.files.set(relative, record);
    this.count(record.bytes);
    return record;
  }

  /** A new file in the session, hashed as it streams; recorded when the stream finishes. */
  async createWriteStream(relative: string): Promise<HashingFileStream> {
    const stream = new HashingFileStream(await this.prepare(relative), { onBytes: (n) => this.count(n) });
    this.openStreams.add(stream);
    // Open until its record settles: 'finish' (writableFinished) comes a tick after the record,
    // so a commit right after `await stream.record` must not count the stream as open.
    stream.record.then(
      (record) => {
        this.files.set(relative, record);
        this.openStreams.delete(stream);
      },
      () => this.openStreams.delete(stream), // the stream removed its partial file
    );
    return stream;
  }

  /** Records a file another program wrote into the session (reads it once to hash it). */
  async adoptFile(relative: string): Promise<FileRecord> {
    this.assertOpen();
    if (this.files.has(relative)) throw new TargetError('SESSION_STATE', `${relative} is already recorded`);
    const record = await hashFile(resolveInside(this.dir, relative));
    this.files.set(relative, record);
    return record;
  }

  /** An archive at `<relativeBase>.zip`, or the directory `<relativeBase>/` with mode none. */
  async createArchive(
    relativeBase: string,
    mode: ZipMode,
    options: { forceZip64?: boolean } = {},
  ): Promise<ArchiveWriter> {
    const base = await this.prepare(relativeBase);
    const inner = await openArchiveWriter(base, mode, { ...options, onBytes: (n) => this.count(n) });
    const parent = path.posix.dirname(relativeBase);
    this.openArchives.add(inner);
    return observeArchive(inner, {
      finished: (result) => {
        for (const [name, record] of Object.entries(result.files)) {
          this.files.set(parent === '.' ? name : `${parent}/${name}`, record);
        }
        this.openArchives.delete(inner);
      },
      closed: () => this.openArchives.delete(inner),
    });
  }

  /**
   * Moves an archive that was built elsewhere in the session directory (a staging area the job
   * removes before commit) to `<relativeBase>.zip` (or the directory `<relativeBase>/` with mode
   * none), and records its files as the archive reported them.
   */
  async adoptArchive(
    relativeBase: string,
    built: { path: string; mode: ZipMode },
    result: ArchiveResult,
  ): Promise<void> {
    const base = await this.prepare(relativeBase);
    const parent = path.posix.dirname(relativeBase);
    const name = path.posix.basename(relativeBase);
    const at = (file: string) => (parent === '.' ? file : `${parent}/${file}`);
    if (built.mode === 'none') {
      await fs.promises.rename(built.path, base);
      for (const [file, record] of Object.entries(result.files))
        this.files.set(at(`${name}/${file.split('/').slice(1).join('/')}`), record);
    } else {
      await fs.promises.rename(built.path, `${base}.zip`);
      const record = Object.values(result.files)[0];
      if (!record) throw new TargetError('SESSION_STATE', `archive ${built.path} reported no file`);
      this.files.set(at(`${name}.zip`), record);
    }
  }

  /** Where an account's files go in this session. */
  accountPaths(zimbraId: string): AccountPaths {
    return accountPaths(zimbraId);
  }

  async writeAccountLdif(zimbraId: string, ldif: string): Promise<FileRecord> {
    return this.writeFile(accountPaths(zimbraId).ldif, ldif);
  }

  async createMailboxSqlStream(zimbraId: string): Promise<HashingFileStream> {
    return this.createWriteStream(accountPaths(zimbraId).mailboxSql);
  }

  async createAccountArchive(
    zimbraId: string,
    what: 'blobs' | 'index',
    mode: ZipMode,
  ): Promise<ArchiveWriter> {
    const paths = accountPaths(zimbraId);
    return this.createArchive(what === 'blobs' ? paths.blobsDir : paths.indexDir, mode);
  }

  /**
   * Deletes what was written for an account that failed (as Zimbra does); its error stays in the
   * manifest. With keepBlobs its blobs archive stays: other accounts refer to blobs stored there.
   */
  async removeAccount(zimbraId: string, options: { keepBlobs?: boolean } = {}): Promise<void> {
    this.assertOpen();
    const paths = accountPaths(zimbraId);
    const root = path.join(this.dir, ...paths.dir.split('/'));
    // A stream the failed step left open is stopped first (it removes its partial file).
    const open = [...this.openStreams].filter((s) => s.path.startsWith(`${root}${path.sep}`));
    for (const stream of open) {
      stream.on('error', () => undefined);
      stream.destroy(new Error(`account ${zimbraId} removed from the session`));
    }
    await Promise.all(open.map((s) => s.record.catch(() => undefined)));
    // keepBlobs: the blobs archive holds content other accounts' blobs-shared.tsv point to.
    const kept = (file: string) =>
      options.keepBlobs === true && (file === paths.blobsZip || file.startsWith(`${paths.blobsDir}/`));
    for (const file of [...this.files.keys()]) {
      if (!file.startsWith(`${paths.dir}/`) || kept(file)) continue;
      await fs.promises.rm(path.join(this.dir, ...file.split('/')), { recursive: true, force: true });
      this.files.delete(file);
    }
    if (!options.keepBlobs) await fs.promises.rm(root, { recursive: true, force: true });
  }

  /** Updates the live status (accounts done, current account, message); bytes are counted here. */
  progress(change: LiveStatusUpdate): void {
    this.status.update(change);
  }

  /**
   * Completes the session: checks that the files on disk are exactly those written, fsyncs them,
   * writes manifest.json (temp + fsync + rename + fsync of the directory), then renames
   * tmp/<label> to sessions/<label> and fsyncs both parents. Problems found before anything
   * changed (open writers, stray files, an invalid manifest) throw and leave the session open.
   */
  async commit(input: CommitInput): Promise<Manifest> {
    this.assertOpen();
    this.state = 'committing'; // no more writes from here
    let tree: SessionTree;
    let manifest: Manifest;
    try {
      if (input.status === 'in progress')
        throw new TargetError(
          'SESSION_STATE',
          'A session is committed with its final status, not "in progress"',
        );
      const open = [
        ...[...this.openStreams].map((s) => s.path),
        ...[...this.openArchives].map(() => 'an archive'),
      ];
      if (open.length > 0)
        throw new TargetError(
          'SESSION_STATE',
          `Session ${this.label} still has ${open.length} file(s) or archive(s) being written: ${open.join(', ')}`,
        );
      await Promise.all([...this.openStreams].map((s) => s.record.catch(() => undefined)));
      // status.json (and its temp files, mid-replace) is still being written; it goes before the manifest.
      tree = await walkSession(
        this.dir,
        (file) => file === SESSION_FILES.status || file.startsWith(`${SESSION_FILES.status}.tmp-`),
      );
      checkRecorded(tree, this.files);
      const session = { label: this.label, type: this.type, startMs: this.startMs, endMs: this.now() };
      manifest = validateManifest(assembleManifest(session, this.files, input), `manifest of ${this.label}`);
    } catch (error) {
      this.state = 'open'; // nothing has changed: the caller may fix the problem and commit again
      throw error;
    }
    try {
      await this.status.close();
      await fs.promises.rm(path.join(this.dir, SESSION_FILES.status), { force: true });
      await fsyncSession(this.dir, tree);
      await writeFileAtomic(
        path.join(this.dir, SESSION_FILES.manifest),
        `${JSON.stringify(manifest, null, 1)}\n`,
      );
      const { root, sessions, tmp } = targetPaths(this.target);
      await fs.promises.mkdir(sessions, { recursive: true });
      await fsyncDir(root);
      await fs.promises.rename(this.dir, path.join(sessions, this.label));
      await fsyncDir(sessions);
      await fsyncDir(tmp);
    } catch (error) {
      this.state = 'broken';
      throw error;
    }
    this.state = 'committed';
    return manifest;
  }

  /** Commits the session as aborted: what was written stays, and says so. */
  abort(input: Omit<CommitInput, 'status'>): Promise<Manifest> {
    return this.commit({ ...input, status: 'aborted' });
  }

  /** Throws the session away: stops writers and removes tmp/<label>. */
  async discard(reason: string): Promise<void> {
    if (this.state === 'committed')
      throw new TargetError(
        'SESSION_STATE',
        `Session ${this.label} is committed; prune deletes it (${reason})`,
      );
    this.state = 'discarded';
    await this.status.close();
    for (const stream of this.openStreams) {
      if (stream.writableFinished || stream.destroyed) continue;
      stream.on('error', () => undefined); // the owner may not listen any more
      stream.destroy(new Error(`session discarded: ${reason}`));
    }
    await Promise.all([...this.openArchives].map((archive) => archive.abort()));
    await Promise.all([...this.openStreams].map((s) => s.record.catch(() => undefined)));
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  private async prepare(relative: string): Promise<string> {
    this.assertOpen();
    if (relative === SESSION_FILES.manifest || relative === SESSION_FILES.status) {
      throw new TargetError('SESSION_STATE', `${relative} is written by the session writer itself`);
    }
    if (this.files.has(relative))
      throw new TargetError('SESSION_STATE', `${relative} was already written in session ${this.label}`);
    const file = resolveInside(this.dir, relative);
    const parent = path.dirname(file);
    if (!this.madeDirs.has(parent)) {
      await fs.promises.mkdir(parent, { recursive: true });
      this.madeDirs.add(parent);
    }
    return file;
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    this.status.update({ bytes: this.bytes });
  }

  private assertOpen(): void {
    if (this.state !== 'open')
      throw new TargetError('SESSION_STATE', `Session ${this.label} is ${this.state}`);
  }
}
