import fs from 'node:fs';
import path from 'node:path';
import { LocalTransport, type Transport } from '../transport';

/**
 * Writing and removing a mailbox's files on the server, the only file changes replay and
 * restore make: with the plain file system when the engine runs on the server, and through the
 * transport's command channel (sh, cat, rm, tar; every value passed as its own argument, never
 * spliced into a script) when it reaches the server over SSH.
 */
export interface ServerFiles {
  readonly local: boolean;
  writeFile(file: string, data: Buffer): Promise<void>;
  removeFiles(files: string[]): Promise<void>;
  removeTree(dir: string): Promise<void>;
  /** The regular files under dir, at any depth, as full paths (none when dir is absent). */
  listFiles(dir: string): Promise<string[]>;
  /** Unpacks a tar stream (names already checked safe) under dir, creating it. */
  untar(dir: string, tar: Buffer): Promise<void>;
  /**
   * Puts folder `from` in the place of `dir` (a restore's staged mailbox folder, beside it on
   * the same volume): dir is removed, then `from` renamed to it; with no `from`, dir is only
   * removed.
   */
  replaceTree(from: string, dir: string): Promise<void>;
}

export function serverFiles(transport: Transport): ServerFiles {
  return transport instanceof LocalTransport ? localFiles : new RemoteFiles(transport);
}

/** The transport's walk: one listing round trip, links not followed, nothing for an absent folder. */
async function listed(transport: Transport, dir: string): Promise<string[]> {
  return (await transport.walk(dir)).filter((f) => !f.isDirectory).map((f) => path.join(dir, f.path));
}

/** Folders made by writeFile: a blob folder holds many blobs, and one mkdir -p each costs system calls. */
const madeDirs = new Set<string>();

/*
 * Replay writes and removes a file per message (and a restore one per blob, file-sink.ts): the
 * callback forms of the fs calls are used, as each call through fs.promises' FileHandle costs
 * several times the system call itself.
 */
export const writeFileOnce = (file: string, data: Buffer) =>
  new Promise<void>((resolve, reject) =>
    fs.writeFile(file, data, (error) => (error ? reject(error) : resolve())),
  );

/** Removes a file; one already gone is fine. */
const unlinkIfPresent = (file: string) =>
  new Promise<void>((resolve, reject) =>
    fs.unlink(file, (error) => (error && error.code !== 'ENOENT' ? reject(error) : resolve())),
  );

/**
 * The regular files under dir, by the types the directory listing gives (no stat of each file;
 * links are neither listed nor followed), nothing for an absent folder.
 */
async function listLocal(dir: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(next, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone, or not a folder: nothing under it.
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw error;
    }
    for (const entry of entries)
      if (entry.isDirectory()) pending.push(path.join(next, entry.name));
      else if (entry.isFile()) files.push(path.join(next, entry.name));
  }
  return files;
}

/**
 * Removes a folder with synchronous calls in slices of the event loop (see SLICE_MS in
 * restore/file-sink.ts): a restored mailbox's old folder holds a file per blob, and fs.rm's
 * recursive walk costs a thread-pool trip or two per file. Links are removed, never followed
 * (the directory listing's types are those of the entries themselves); nothing for an absent folder.
 */
async function removeTreeInSlices(root: string): Promise<void> {
  const SLICE_MS = 4;
  let sliceStart = performance.now();
  const ignoring = (codes: string[], call: () => void) => {
    try {
      call();
    } catch (error) {
      if (!codes.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  };
  const remove = async (dir: string): Promise<void> => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await remove(full);
      else ignoring(['ENOENT'], () => fs.unlinkSync(full));
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    ignoring(['ENOENT'], () => fs.rmdirSync(dir));
  };
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (stat.isDirectory()) await remove(root);
  else ignoring(['ENOENT'], () => fs.unlinkSync(root));
}

const localFiles: ServerFiles = {
  local: true,
  async writeFile(file, data) {
    const dir = path.dirname(file);
    if (madeDirs.has(dir))
      try {
        return await writeFileOnce(file, data);
      } catch (error) {
        // Removed since (a restore removes mailbox folders): made again below.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    await fs.promises.mkdir(dir, { recursive: true });
    if (madeDirs.size > 100_000) madeDirs.clear();
    madeDirs.add(dir);
    await writeFileOnce(file, data);
  },
  async removeFiles(files) {
    await Promise.all(files.map(unlinkIfPresent));
  },
  async removeTree(dir) {
    await fs.promises.rm(dir, { recursive: true, force: true });
  },
  listFiles: listLocal,
  async untar() {
    throw new Error('local restores extract archives directly');
  },
  async replaceTree(from, dir) {
    await removeTreeInSlices(dir);
    try {
      await fs.promises.rename(from, dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
};

class RemoteFiles implements ServerFiles {
  readonly local = false;

  constructor(private readonly transport: Transport) {}

  private async run(argv: string[], input?: Buffer): Promise<void> {
    const result = await this.transport.exec(argv, { input, timeoutMs: 600_000 });
    if (result.code !== 0)
      throw new Error(`${this.transport.name}: ${argv[0]} failed (${result.code}): ${result.stderr.trim()}`);
  }

  writeFile(file: string, data: Buffer): Promise<void> {
    // $1 is the path, passed as an argument: the script itself holds no value.
    return this.run(['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', 'sh', file], data);
  }

  async removeFiles(files: string[]): Promise<void> {
    for (let i = 0; i < files.length; i += 500)
      await this.run(['rm', '-f', '--', ...files.slice(i, i + 500)]);
  }

  removeTree(dir: string): Promise<void> {
    return this.run(['rm', '-rf', '--', dir]);
  }

  listFiles(dir: string): Promise<string[]> {
    return listed(this.transport, dir);
  }

  untar(dir: string, tar: Buffer): Promise<void> {
    return this.run(['sh', '-c', 'mkdir -p -- "$1" && tar -x --no-same-owner -C "$1" -f -', 'sh', dir], tar);
  }

  replaceTree(from: string, dir: string): Promise<void> {
    // $1 and $2 are the paths, passed as arguments; -d does not take a link for the folder.
    return this.run([
      'sh',
      '-c',
      'rm -rf -- "$2" && if [ -d "$1" ] && [ ! -L "$1" ]; then mv -- "$1" "$2"; fi',
      'sh',
      from,
      dir,
    ]);
  }
}
