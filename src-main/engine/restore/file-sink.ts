import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { resolveInside } from '../target/layout';
import { UnsafePathError } from '../target/errors';
import type { ServerFiles } from '../replay/server-files';
import { SameFileLinker } from './same-file-link';

/**
 * Where restored files go: straight to disk when the engine runs on the server, or as tar
 * streams (one command channel per ~32 MiB) through the transport when it is remote. Every path
 * is relative, checked safe (no `..`, not absolute) and resolved inside its root; locally the
 * real path of each directory is checked too, so a symbolic link in place cannot lead outside.
 */
export interface FileSink {
  /**
   * Writes root/relative. With liveRoot (the mailbox folder a staged folder is to replace), a
   * file liveRoot/relative with the same bytes may be linked instead (same-file-link.ts; locally only).
   */
  write(root: string, relative: string, data: Buffer, liveRoot?: string): Promise<void>;
  flush(): Promise<void>;
  /** Files linked rather than written. */
  readonly linked: number;
}

const BATCH_BYTES = 32 * 1024 * 1024;

export function fileSink(files: ServerFiles): FileSink {
  return files.local ? new LocalSink() : new TarSink(files);
}

/**
 * Files are written with synchronous calls in slices of the event loop, as the full backup reads
 * them (engine/transport/local-read-ahead.ts): each callback call is a trip through the thread
 * pool (a futex wake-up, a context switch, a callback into JS), three per file (open, write,
 * close), which cost more CPU than the calls themselves for ~20 KiB blobs. After SLICE_MS of
 * writing the sink yields, so a MariaDB load running beside it (restore-account.ts) waits at most
 * that long plus one file for its next statement.
 */
const SLICE_MS = 4;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

class LocalSink implements FileSink {
  private readonly checked = new Map<string, string>();
  private sliceStart = performance.now();
  private readonly linker = new SameFileLinker();

  get linked(): number {
    return this.linker.linked;
  }

  async write(root: string, relative: string, data: Buffer, liveRoot?: string): Promise<void> {
    let realRoot = this.checked.get(root);
    if (realRoot === undefined) {
      fs.mkdirSync(root, { recursive: true });
      realRoot = fs.realpathSync(root);
      this.checked.set(root, realRoot);
    }
    const target = resolveInside(realRoot, relative);
    const dir = path.dirname(target);
    if (!this.checked.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      const real = fs.realpathSync(dir);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep))
        throw new UnsafePathError(relative, `its directory leads outside ${realRoot}`);
      this.checked.set(dir, real);
    }
    if (liveRoot === undefined || !this.linker.link(liveRoot, relative, target, data))
      fs.writeFileSync(target, data);
    if (performance.now() - this.sliceStart > SLICE_MS) {
      await yieldToEventLoop();
      this.sliceStart = performance.now();
    }
  }

  async flush(): Promise<void> {}
}

/** Over SSH every file goes in the tar stream: a check of the live file would be a command each. */
class TarSink implements FileSink {
  readonly linked = 0;
  private batches = new Map<string, { entries: Array<{ name: string; data: Buffer }>; bytes: number }>();

  constructor(private readonly files: ServerFiles) {}

  async write(root: string, relative: string, data: Buffer): Promise<void> {
    resolveInside('/restore-root', relative); // throws on an unsafe name
    const batch = this.batches.get(root) ?? { entries: [], bytes: 0 };
    this.batches.set(root, batch);
    batch.entries.push({ name: relative, data });
    batch.bytes += data.length + 512;
    if (batch.bytes >= BATCH_BYTES) await this.send(root);
  }

  private async send(root: string): Promise<void> {
    const batch = this.batches.get(root);
    this.batches.delete(root);
    if (!batch || batch.entries.length === 0) return;
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    const ended = new Promise<void>((resolve, reject) => {
      pack.on('end', resolve);
      pack.on('error', reject);
    });
    for (const e of batch.entries) pack.entry({ name: e.name, size: e.data.length, mode: 0o640 }, e.data);
    pack.finalize();
    await ended;
    await this.files.untar(root, Buffer.concat(chunks));
  }

  async flush(): Promise<void> {
    for (const root of [...this.batches.keys()]) await this.send(root);
  }
}
