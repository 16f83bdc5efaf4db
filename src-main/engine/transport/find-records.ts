import type { RemoteFileInfo } from './types';

/**
 * GNU find's -printf format for one file: type, path relative to the starting point, size,
 * mtime (seconds with fraction), inode, device, link count, each NUL-terminated. NUL is the one
 * byte a file name cannot contain, so names with newlines or quotes parse unambiguously.
 * find expands the \0 escapes itself; the backslashes travel to it literally.
 */
export const FIND_PRINTF = '%y\\0%P\\0%s\\0%T@\\0%i\\0%D\\0%n\\0';
const FIELDS = 7;

export interface FindRecord {
  /** find's %y letter: f file, d directory, l symbolic link (with -H: a dangling one). */
  type: string;
  info: RemoteFileInfo;
}

/**
 * "1795426731.9329003070" (find's %T@) in milliseconds, computed as Node computes Stats.mtimeMs
 * from seconds and nanoseconds, so a remote listing compares equal to a local lstat. find prints
 * tv_sec and then tv_nsec as a fraction, so a time before 1970 reads "-2.2500000000" for
 * -1.75 s (tv_sec -2, tv_nsec 250,000,000): the fraction is added, whatever the sign.
 */
export function findTimeToMs(value: string): number {
  const [sec = '0', frac = ''] = value.split('.');
  return Number(sec) * 1e3 + Number(frac.padEnd(9, '0').slice(0, 9)) / 1e6;
}

/**
 * A pax header's mtime ("-1.75", a plain decimal number of seconds) in milliseconds, with
 * Node's arithmetic: whole seconds rounded down, the nanoseconds above them added.
 */
export function paxTimeToMs(value: string): number {
  if (!value.startsWith('-')) return findTimeToMs(value);
  const [sec = '0', frac = ''] = value.slice(1).split('.');
  const nsec = Number(frac.padEnd(9, '0').slice(0, 9));
  return nsec === 0 ? -Number(sec) * 1e3 : (-Number(sec) - 1) * 1e3 + (1e9 - nsec) / 1e6;
}

/** Splits find's output into records as it streams in, without holding the whole listing as one buffer. */
export class FindRecordParser {
  private partial: Buffer[] = [];
  private fields: string[] = [];
  readonly records: FindRecord[] = [];

  push(chunk: Buffer): void {
    let start = 0;
    for (let nul = chunk.indexOf(0, start); nul >= 0; nul = chunk.indexOf(0, start)) {
      const piece = chunk.subarray(start, nul);
      this.field(
        (this.partial.length === 0 ? piece : Buffer.concat([...this.partial, piece])).toString('utf8'),
      );
      this.partial = [];
      start = nul + 1;
    }
    if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
  }

  /** Throws if the output stopped in the middle of a record (the command was cut off). */
  end(): FindRecord[] {
    if (this.partial.length > 0 || this.fields.length > 0)
      throw new Error('find output ends in the middle of a record');
    return this.records;
  }

  private field(value: string): void {
    this.fields.push(value);
    if (this.fields.length < FIELDS) return;
    const [type, rel, size, mtime, ino, dev, nlink] = this.fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    this.fields = [];
    this.records.push({
      type,
      info: {
        path: rel,
        size: Number(size),
        mtimeMs: findTimeToMs(mtime),
        ino: Number(ino),
        dev: Number(dev),
        nlink: Number(nlink),
        isDirectory: type === 'd',
      },
    });
  }
}

/** A path find takes as a starting point, never as an option or expression ("-name", "!", "("). */
export function findStartingPoint(filePath: string): string {
  return filePath.startsWith('/') ? filePath : `./${filePath}`;
}

/** True when every line of find's stderr only says a path does not exist. */
export function onlyMissingErrors(stderr: string): boolean {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  return lines.every((line) => /: (No such file or directory|Not a directory)$/.test(line));
}
