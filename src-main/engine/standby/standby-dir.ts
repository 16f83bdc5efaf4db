import path from 'node:path';
import { TransportError, type RemoteFileInfo, type Transport } from '../transport';
import type { StandbyVolume, VolumeRecord } from './record';

/**
 * The standby's own directory on the standby server (default <zimbra_home>/standby there):
 *   record/<volume>.json   what was received, per volume (record.ts)
 *   locks/<volume>/        one snapshot of a volume at a time (mkdir is atomic, locally and over SSH)
 *   mysql/<id>.sql         the dumps
 *   blobs/<volume id>/     mirror of each message volume, index/<volume id>/ of the index volume
 *   redolog/seq-<N>.log    the redo logs by sequence
 *   staging/               batches being unpacked and checked before they join a mirror
 * Every change goes through the standby server's transport, so the standby may be this machine
 * or one reached over SSH; values are passed as arguments, never spliced into a script.
 */
export class StandbyDir {
  constructor(
    readonly transport: Transport,
    readonly root: string,
  ) {}

  abs(rel: string): string {
    return path.posix.join(this.root, rel);
  }

  async run(argv: string[], input?: Buffer | string, timeoutMs = 3_600_000): Promise<Buffer> {
    const result = await this.transport.exec(argv, { input, timeoutMs });
    if (result.code !== 0)
      throw new Error(
        `${this.transport.name}: ${argv[0]} ${argv[2] ?? ''} failed (${result.code}): ${result.stderr.trim()}`,
      );
    return result.stdout;
  }

  /** sh -c SCRIPT with positional arguments: the script holds no value. */
  sh(script: string, args: string[], input?: Buffer | string): Promise<Buffer> {
    return this.run(['sh', '-c', script, 'sh', ...args], input);
  }

  async stat(rel: string): Promise<RemoteFileInfo | null> {
    return this.transport.stat(this.abs(rel));
  }

  walk(rel: string): Promise<RemoteFileInfo[]> {
    return this.transport.walk(this.abs(rel));
  }

  async readRecord(volume: StandbyVolume): Promise<VolumeRecord | undefined> {
    let raw: Buffer;
    try {
      raw = await this.transport.readFile(this.abs(`record/${volume}.json`));
    } catch (error) {
      if (error instanceof TransportError && error.code === 'ENOENT') return undefined;
      throw error;
    }
    return JSON.parse(raw.toString('utf8')) as VolumeRecord;
  }

  async readRecords(): Promise<Partial<Record<StandbyVolume, VolumeRecord>>> {
    const out: Partial<Record<StandbyVolume, VolumeRecord>> = {};
    for (const v of ['mysql', 'blobs', 'index', 'redolog'] as const) {
      const r = await this.readRecord(v);
      if (r) out[v] = r;
    }
    return out;
  }

  /** Temp file, fsync, rename: a reader sees the old record or the new one, never half. */
  async writeRecord(record: VolumeRecord): Promise<void> {
    await this.sh(
      'mkdir -p -- "$(dirname -- "$1")" && cat > "$1.tmp" && sync -- "$1.tmp" && mv -f -- "$1.tmp" "$1"',
      [this.abs(`record/${record.volume}.json`)],
      JSON.stringify(record, null, 1),
    );
  }

  /**
   * Takes the volume's lock (a directory). The holder refreshes its time as it sends; a lock
   * not refreshed for `staleMs` belongs to a snapshot that died with its link or its machine
   * and is broken.
   */
  async lock(volume: StandbyVolume, staleMs = 10 * 60_000): Promise<StandbyLock> {
    const dir = this.abs(`locks/${volume}`);
    const take = async () =>
      (
        await this.transport.exec([
          'sh',
          '-c',
          'mkdir -p -- "$(dirname -- "$1")" && mkdir -- "$1"',
          'sh',
          dir,
        ])
      ).code === 0;
    if (!(await take())) {
      const held = await this.transport.stat(dir);
      if (held && Date.now() - held.mtimeMs > staleMs) {
        await this.transport.exec(['rmdir', '--', dir]);
        if (!(await take())) throw new StandbyBusyError(volume);
      } else throw new StandbyBusyError(volume);
    }
    let refreshed = Date.now();
    return {
      refresh: async () => {
        if (Date.now() - refreshed < Math.min(10_000, staleMs / 4)) return;
        refreshed = Date.now();
        await this.run(['touch', '--', dir]);
      },
      release: async () => {
        await this.transport.exec(['rmdir', '--', dir]).catch(() => undefined);
      },
    };
  }
}

export interface StandbyLock {
  refresh(): Promise<void>;
  release(): Promise<void>;
}

export class StandbyBusyError extends Error {
  constructor(volume: StandbyVolume) {
    super(`a ${volume} snapshot is already running on this standby`);
  }
}
