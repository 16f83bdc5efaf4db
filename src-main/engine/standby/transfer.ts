import crypto from 'node:crypto';
import path from 'node:path';
import { pack } from 'tar-stream';
import type { RemoteFileInfo, Transport } from '../transport';
import type { StandbyDir } from './standby-dir';

/**
 * Moving bytes from the primary to the standby with SHA-256 checks, resumably. A large file
 * (a dump, a redo log) is appended to its copy chunk by chunk, so a dropped link leaves a
 * correct prefix and the next attempt goes on from the copy's size; it is then checked by
 * sha256sum on both servers. Small files (blobs, index files) go in batches as one tar stream
 * into a staging directory, are checked there file by file against the SHA-256 of the bytes
 * read on the primary, and only then moved into the mirror: a file present in the mirror was
 * verified, which is what lets a new attempt skip it.
 */
export interface TransferHooks {
  /** Called after each chunk or batch lands on the standby (tests drop the link here). */
  onProgress?(sent: { bytes: number; files: number }): void | Promise<void>;
  chunkBytes?: number;
  batchBytes?: number;
}

export interface Sent {
  bytes: number;
  files: number;
}

async function exec(t: Transport, argv: string[], input?: Buffer): Promise<Buffer> {
  const r = await t.exec(argv, { input, timeoutMs: 3_600_000 });
  if (r.code !== 0)
    throw new Error(`${t.name}: ${argv[0]} ${argv[2] ?? ''} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Bytes [start, start+length) of a file on a server (fewer when the file is shorter). */
export function readRange(t: Transport, file: string, start: number, length: number): Promise<Buffer> {
  return exec(t, [
    'dd',
    `if=${file}`,
    'bs=1048576',
    'iflag=skip_bytes,count_bytes',
    `skip=${start}`,
    `count=${length}`,
    'status=none',
  ]);
}

/** SHA-256 (hex) of bytes [start, start+length) of a file on a server, or of all of it. */
export async function rangeSha256(t: Transport, file: string, start = 0, length?: number): Promise<string> {
  const out =
    start === 0 && length === undefined
      ? await exec(t, ['sha256sum', '--', file])
      : await exec(t, [
          'sh',
          '-c',
          'dd if="$1" bs=1048576 iflag=skip_bytes,count_bytes skip="$2" ${3:+count="$3"} status=none | sha256sum',
          'sh',
          file,
          String(start),
          length === undefined ? '' : String(length),
        ]);
  const hash = /^[0-9a-f]{64}/.exec(out.toString('utf8'))?.[0];
  if (!hash) throw new Error(`${t.name}: sha256sum gave no hash for ${file}`);
  return hash;
}

/**
 * Appends `data` to a standby file that holds `expectSize` bytes, and checks in the same call
 * that the bytes now at the end hash to what was read on the primary.
 */
export async function appendVerified(
  dir: StandbyDir,
  destRel: string,
  expectSize: number,
  data: Buffer,
): Promise<void> {
  const out = await dir.sh(
    'f="$1"; mkdir -p -- "$(dirname -- "$f")" && touch -- "$f" && [ "$(stat -c %s -- "$f")" = "$2" ] || { echo "size differs" >&2; exit 3; }; ' +
      'cat >> "$f" && dd if="$f" bs=1048576 iflag=skip_bytes skip="$2" status=none | sha256sum',
    [dir.abs(destRel), String(expectSize)],
    data,
  );
  const want = crypto.createHash('sha256').update(data).digest('hex');
  if (!out.toString('utf8').startsWith(want))
    throw new Error(
      `${dir.transport.name}: ${destRel}: the bytes appended at ${expectSize} do not match what was sent (SHA-256)`,
    );
}

/**
 * Appends bytes [from, to) of the primary's file to the standby file `destRel`, which must
 * hold exactly `from` bytes, chunk by chunk, each chunk checked. Returns the bytes sent.
 */
export async function appendRange(
  source: Transport,
  file: string,
  dir: StandbyDir,
  destRel: string,
  from: number,
  to: number,
  hooks: TransferHooks = {},
  sent: Sent = { bytes: 0, files: 0 },
): Promise<number> {
  const chunk = hooks.chunkBytes ?? 8 * 1024 * 1024;
  let at = from;
  while (at < to) {
    const data = await readRange(source, file, at, Math.min(chunk, to - at));
    if (data.length === 0) throw new Error(`${source.name}: ${file} is shorter than ${to} bytes`);
    await appendVerified(dir, destRel, at, data);
    at += data.length;
    sent.bytes += data.length;
    await hooks.onProgress?.(sent);
  }
  return at - from;
}

/** Size of a standby file, 0 when absent. */
export async function standbySize(dir: StandbyDir, rel: string): Promise<number> {
  return (await dir.stat(rel))?.size ?? 0;
}

/** Names Zimbra gives blobs and index files; anything else is refused rather than quoted around. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
export const isSafeRelPath = (rel: string) => SAFE_NAME.test(rel) && !rel.split('/').includes('..');

/**
 * Copies files (relative to srcRoot on the primary) into the standby mirror directory
 * `mirrorRel`, batch by batch; each file's SHA-256 on the standby must equal that of the bytes
 * read on the primary, else the batch fails and nothing of it joins the mirror. Files gone from
 * the primary meanwhile are skipped (a deleted blob: replay deletes its row too).
 */
export async function copyFiles(
  source: Transport,
  srcRoot: string,
  files: RemoteFileInfo[],
  dir: StandbyDir,
  mirrorRel: string,
  hooks: TransferHooks = {},
  sent: Sent = { bytes: 0, files: 0 },
): Promise<Sent> {
  const batchBytes = hooks.batchBytes ?? 16 * 1024 * 1024;
  let i = 0;
  let batchNo = 0;
  while (i < files.length) {
    const batch: RemoteFileInfo[] = [];
    let bytes = 0;
    while (
      i < files.length &&
      (batch.length === 0 || (bytes + files[i]!.size <= batchBytes && batch.length < 1000))
    ) {
      bytes += files[i]!.size;
      batch.push(files[i++]!);
    }
    const tar = pack();
    const chunks: Buffer[] = [];
    tar.on('data', (c: unknown) => void chunks.push(c as Buffer));
    const ended = new Promise<void>((resolve, reject) => {
      tar.on('end', resolve);
      tar.on('error', reject);
    });
    const expected = new Map<string, string>();
    let batchSent = 0;
    for await (const entry of source.readFiles(
      srcRoot,
      batch.map((f) => f.path),
    )) {
      const parts: Buffer[] = [];
      for await (const c of entry.content) parts.push(c as Buffer);
      const data = Buffer.concat(parts);
      expected.set(entry.path, crypto.createHash('sha256').update(data).digest('hex'));
      batchSent += data.length;
      tar.entry({ name: entry.path, size: data.length, mtime: new Date(entry.mtimeMs), mode: 0o640 }, data);
    }
    tar.finalize();
    await ended;
    if (expected.size === 0) continue;
    const staging = dir.abs(`staging/${mirrorRel.replace(/\//g, '_')}-${process.pid}-${batchNo++}`);
    const listing = await dir.sh(
      'rm -rf -- "$1" && mkdir -p -- "$1" && tar -x --no-same-owner -C "$1" -f - && cd -- "$1" && find . -type f -exec sha256sum -- {} +',
      [staging],
      Buffer.concat(chunks),
    );
    const got = new Map<string, string>();
    for (const line of listing.toString('utf8').split('\n')) {
      const m = /^([0-9a-f]{64}) {2}\.\/(.+)$/.exec(line);
      if (m) got.set(m[2]!, m[1]!);
    }
    for (const [rel, hash] of expected)
      if (got.get(rel) !== hash) {
        await dir.run(['rm', '-rf', '--', staging]);
        throw new Error(
          `${dir.transport.name}: ${rel} arrived with SHA-256 ${got.get(rel) ?? 'none'}, sent ${hash}`,
        );
      }
    // Verified: hard-link each file into the mirror (same file system, no second copy of the
    // bytes), then drop the batch, leaving the mirror's files with one link each.
    await dir.sh('mkdir -p -- "$2" && cp -al --remove-destination -- "$1/." "$2/" && rm -rf -- "$1"', [
      staging,
      dir.abs(mirrorRel),
    ]);
    sent.files += expected.size;
    sent.bytes += batchSent;
    await hooks.onProgress?.(sent);
  }
  return sent;
}

/** Removes files from a standby mirror (paths relative to it). */
export async function removeFromMirror(dir: StandbyDir, mirrorRel: string, rels: string[]): Promise<void> {
  for (let i = 0; i < rels.length; i += 500)
    await dir.run([
      'rm',
      '-f',
      '--',
      ...rels.slice(i, i + 500).map((r) => path.posix.join(dir.abs(mirrorRel), r)),
    ]);
}

/**
 * One read of a redo log on the primary through one open file: optionally its 512-byte header,
 * then `length` bytes from `bodyFrom`, then optionally the SHA-256 of the whole file (for a
 * closed log, whose bytes no longer change). A rollover between the reads cannot mix two logs.
 */
export async function readPiece(
  t: Transport,
  file: string,
  bodyFrom: number,
  length: number,
  options: { header: boolean; sha: boolean },
): Promise<{ header: Buffer | null; body: Buffer; sha256: string | null }> {
  const r = await t.exec(
    [
      'sh',
      '-c',
      'exec 3< "$1" || exit 1; skip="$2"; if [ "$4" = 1 ]; then dd bs=512 count=1 status=none <&3 || exit 1; skip=$(($2 - 512)); fi; ' +
        'dd bs=1048576 iflag=skip_bytes,count_bytes skip="$skip" count="$3" status=none <&3 || exit 1; ' +
        'if [ "$5" = 1 ]; then sha256sum < "$1" || exit 1; fi',
      'sh',
      file,
      String(bodyFrom),
      String(length),
      options.header ? '1' : '0',
      options.sha ? '1' : '0',
    ],
    { timeoutMs: 600_000 },
  );
  const headerBytes = options.header ? 512 : 0;
  const shaBytes = options.sha ? 68 : 0;
  if (r.code !== 0 || r.stdout.length < headerBytes + shaBytes)
    throw new Error(`${t.name}: cannot read ${file} (${r.code}): ${r.stderr.trim()}`);
  const out = r.stdout;
  return {
    header: options.header ? out.subarray(0, 512) : null,
    body: out.subarray(headerBytes, out.length - shaBytes),
    sha256: options.sha ? out.subarray(out.length - 68, out.length - 4).toString('latin1') : null,
  };
}

/**
 * One write to a redo log copy on the standby, which must hold `have` bytes: the header
 * rewritten in place (Zimbra rewrites it on every flush), the body appended from
 * max(have, 512); the appended bytes must hash to what was read on the primary. Returns the
 * SHA-256 of the whole copy when asked.
 */
export async function writePiece(
  dir: StandbyDir,
  rel: string,
  have: number,
  header: Buffer | null,
  body: Buffer,
  wholeSha: boolean,
): Promise<string | null> {
  const out = await dir.sh(
    'f="$1"; mkdir -p -- "$(dirname -- "$f")" && touch -- "$f" || exit 1; ' +
      '[ "$(stat -c %s -- "$f")" = "$2" ] || { echo "the copy is not $2 bytes long" >&2; exit 3; }; ' +
      'if [ "$3" = 1 ]; then dd of="$f" bs=512 count=1 conv=notrunc iflag=fullblock status=none || exit 4; fi; ' +
      'from=$(stat -c %s -- "$f"); cat >> "$f" || exit 5; ' +
      'dd if="$f" bs=1048576 iflag=skip_bytes skip="$from" status=none | sha256sum; ' +
      'if [ "$4" = 1 ]; then sha256sum < "$f"; fi',
    [dir.abs(rel), String(have), header ? '1' : '0', wholeSha ? '1' : '0'],
    header ? Buffer.concat([header, body]) : body,
  );
  const lines = out.toString('latin1').split('\n');
  const want = crypto.createHash('sha256').update(body).digest('hex');
  if (!lines[0]?.startsWith(want))
    throw new Error(
      `${dir.transport.name}: ${rel}: the bytes appended at ${have} do not match what was sent (SHA-256)`,
    );
  return wholeSha ? (lines[1]?.slice(0, 64) ?? null) : null;
}
