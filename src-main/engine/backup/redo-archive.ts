import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'ldapts';
import { parseArchiveFileName } from '../redolog/archive-names';
import { decodeFileHeader, FILE_HEADER_SIZE, type RedoFileHeader } from '../redolog/file-header';
import type { ServerAccess } from '../server/server-access';
import { forEachLimited } from '../target/durable-fs';
import { targetPaths } from '../target/layout';
import type { Manifest, ManifestError, RedoLogRecord } from '../target/manifest';

/**
 * The redo log archive between a server and a target (SPEC §1 incremental, step 3): which
 * archived logs the target already holds (from committed manifests only, so a copy left by a
 * killed run counts for nothing until a session lists it), copying the new ones in, and deleting
 * server logs once a committed session holds a verified copy and they are older than
 * backup_archived_redolog_keep_time.
 */
export interface ServerLog {
  name: string;
  seq: number;
}

export class RedoResetError extends Error {
  readonly fatal = true;
}

/** zimbraRedoLogArchiveDir's default, relative to zimbra_home. */
export const archiveDirOf = (server: ServerAccess) => path.posix.join(server.zimbraHome, 'redolog/archive');

/** The sequence of the live redo.log, from its header; null if the server has none. */
export async function currentRedoSeq(server: ServerAccess): Promise<number | null> {
  const header = await readHeader(server, path.posix.join(server.zimbraHome, 'redolog/redo.log'));
  return header?.seq ?? null;
}

async function readHeader(server: ServerAccess, file: string): Promise<RedoFileHeader | null> {
  return (await readHeaders(server, [file]))[0] ?? null;
}

/** Local header reads at once. */
const HEADS_IN_FLIGHT = 16;

/** Files per command: well under any argument-length limit, with paths of a few hundred bytes. */
const FILES_PER_COMMAND = 500;
/** Per file: "Y" and its header, or "N" and as many zero bytes (missing, or shorter than a header). */
const HEADERS_SCRIPT =
  'for f do if [ -f "$f" ] && [ "$(wc -c < "$f")" -ge ' +
  `${FILE_HEADER_SIZE} ]; then printf Y; head -c ${FILE_HEADER_SIZE} -- "$f"; ` +
  `else printf N; head -c ${FILE_HEADER_SIZE} /dev/zero; fi; done`;

/**
 * The headers of several files in one command (a process, or over SSH a round trip, per log was
 * most of a prune's time); null for a file that is missing or shorter than a header.
 */
async function readHeaders(server: ServerAccess, files: string[]): Promise<Array<RedoFileHeader | null>> {
  const { readHead } = server.transport;
  if (readHead) {
    const heads: Array<Buffer | null> = new Array<Buffer | null>(files.length).fill(null);
    // A few at a time: a long keep time can leave thousands of logs, and each read holds a file open.
    await forEachLimited([...files.keys()], HEADS_IN_FLIGHT, async (i) => {
      heads[i] = await readHead.call(server.transport, files[i]!, FILE_HEADER_SIZE);
    });
    return heads.map((head) => (head && head.length === FILE_HEADER_SIZE ? decodeFileHeader(head) : null));
  }
  const headers: Array<RedoFileHeader | null> = [];
  const slot = FILE_HEADER_SIZE + 1;
  for (let at = 0; at < files.length; at += FILES_PER_COMMAND) {
    const batch = files.slice(at, at + FILES_PER_COMMAND);
    const out = (await server.transport.exec(['sh', '-c', HEADERS_SCRIPT, 'sh', ...batch])).stdout;
    if (out.length !== slot * batch.length) {
      // A file went between the test and the read: the slots no longer line up; one at a time.
      for (const file of batch) headers.push(await readOneHeader(server, file));
      continue;
    }
    for (let i = 0; i < batch.length; i++)
      headers.push(
        out[i * slot] === 0x59 ? decodeFileHeader(out.subarray(i * slot + 1, (i + 1) * slot)) : null,
      );
  }
  return headers;
}

async function readOneHeader(server: ServerAccess, file: string): Promise<RedoFileHeader | null> {
  const head = await server.transport.exec(['head', '-c', String(FILE_HEADER_SIZE), file]);
  if (head.code !== 0 || head.stdout.length < FILE_HEADER_SIZE) return null;
  return decodeFileHeader(head.stdout);
}

/** Archived logs on the server by sequence (mailboxd's ~tmp- and .bak files are not logs). */
export async function listServerLogs(server: ServerAccess): Promise<ServerLog[]> {
  const files = await server.transport.walk(archiveDirOf(server));
  return files
    .filter((f) => !f.path.includes('/'))
    .flatMap((f) => {
      const parsed = parseArchiveFileName(f.path);
      return parsed ? [{ name: f.path, seq: parsed.seq }] : [];
    })
    .sort((a, b) => a.seq - b.seq);
}

/** Every redo log a committed session of this server lists, by sequence. */
export function committedLogs(
  sessions: ReadonlyArray<{ manifest: Manifest }>,
  hostname: string,
): RedoLogRecord[] {
  const bySeq = new Map<number, RedoLogRecord>();
  for (const { manifest } of sessions)
    if (manifest.server.hostname === hostname)
      for (const log of manifest.redoLogs ?? []) if (!bySeq.has(log.seq)) bySeq.set(log.seq, log);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export interface RedoPlan {
  /** Logs to bring into the target, by sequence. */
  copy: ServerLog[];
  /** Gaps and disagreements, for the session's errors. */
  problems: ManifestError[];
}

/**
 * Which logs to copy, and what is missing. Logs follow from the last one a committed session
 * holds; with none yet, from the redo.log that was live when the first full backup began (older
 * logs are copied too: nothing on the server is dropped unseen). `sessions`: the target's
 * committed sessions (completeSessions), read once by the caller.
 */
export async function planRedoCopy(
  server: ServerAccess,
  sessions: ReadonlyArray<{ manifest: Manifest }>,
): Promise<RedoPlan> {
  const { hostname } = server.settings;
  const held = committedLogs(sessions, hostname);
  const last = held.at(-1)?.seq;
  const fullStart = sessions
    .filter((s) => s.manifest.type === 'full' && s.manifest.server.hostname === hostname)
    .map((s) => s.manifest.redo.seq?.min)
    .find((seq) => seq !== undefined);
  const [logs, live] = await Promise.all([listServerLogs(server), currentRedoSeq(server)]);
  const where = `${archiveDirOf(server)} on ${hostname}`;
  if (last !== undefined && live !== null && live <= last)
    throw new RedoResetError(
      `${hostname}: redo log sequence reset: the live redo.log is sequence ${live}, but this target ` +
        `already holds sequence ${last}. The server's redo history restarted (reinstalled or restored?); ` +
        'take a full backup into a new target.',
    );
  const problems: ManifestError[] = [];
  const heldBySeq = new Map(held.map((log) => [log.seq, log]));
  for (const log of logs) {
    const copy = heldBySeq.get(log.seq);
    if (copy && copy.name !== log.name)
      problems.push({
        message: `${where}: ${log.name} has sequence ${log.seq}, which this target holds as ${copy.name}; it is not copied`,
      });
  }
  const copy = logs.filter((log) => last === undefined || log.seq > last);
  let expected = last !== undefined ? last + 1 : (fullStart ?? copy[0]?.seq);
  const gap = (from: number, to: number) =>
    problems.push({
      message:
        `redo log gap: ${from === to ? `sequence ${from} is` : `sequences ${from} to ${to} are`} missing from ${where}; ` +
        'changes in them cannot be restored or replayed',
    });
  if (expected !== undefined) {
    for (const log of copy) {
      if (log.seq > expected) gap(expected, log.seq - 1);
      expected = Math.max(expected, log.seq + 1);
    }
    if (live !== null && expected < live) gap(expected, live - 1);
  }
  return { copy, problems };
}

/** SHA-256 of a file in the target, to check a copy before its source is deleted. */
async function sha256Of(file: string): Promise<string | null> {
  try {
    const hash = crypto.createHash('sha256');
    await pipeline(fs.createReadStream(file), hash);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

export interface PruneResult {
  deleted: string[];
  /** Held by the target but younger than the keep time: a later run deletes them. */
  kept: string[];
  problems: string[];
}

/**
 * Deletes server logs that a committed session of this target holds, whose copy still has the
 * recorded checksum, and whose last op is older than backup_archived_redolog_keep_time.
 * `sessions`: the target's committed sessions, the one just committed included.
 */
export async function pruneServerLogs(
  server: ServerAccess,
  target: string,
  sessions: ReadonlyArray<{ manifest: Manifest }>,
  now = Date.now(),
): Promise<PruneResult> {
  const held = new Map(committedLogs(sessions, server.settings.hostname).map((log) => [log.name, log]));
  const keepMs = server.settings.archivedRedologKeepTimeSec * 1000;
  const result: PruneResult = { deleted: [], kept: [], problems: [] };
  const candidates = (await listServerLogs(server)).filter((log) => held.has(log.name));
  const sources = candidates.map((log) => path.posix.join(archiveDirOf(server), log.name));
  const headers = await readHeaders(server, sources);
  const deletable: Array<{ name: string; source: string }> = [];
  for (const [i, log] of candidates.entries()) {
    const record = held.get(log.name)!;
    const source = sources[i]!;
    const header = headers[i];
    const lastOp =
      header && header.lastOpTime > 0
        ? header.lastOpTime
        : (parseArchiveFileName(log.name)?.rolloverTime ?? now);
    if (lastOp > now - keepMs) {
      result.kept.push(log.name);
      continue;
    }
    const sha = await sha256Of(path.join(targetPaths(target).redologs, log.name));
    if (sha !== record.sha256) {
      result.problems.push(
        `${log.name} is kept on the server: the target's copy ${sha ? 'does not match its checksum' : 'is missing'}`,
      );
      continue;
    }
    deletable.push({ name: log.name, source });
  }
  await deleteServerFiles(server, deletable, result);
  return result;
}

/** One "Y" or "N" per file, in order: whether rm removed it. */
const REMOVE_SCRIPT = 'for f do if rm -f -- "$f"; then printf Y; else printf N; fi; done';

/** Removes server files in one command per batch, not one each. */
async function deleteServerFiles(
  server: ServerAccess,
  files: Array<{ name: string; source: string }>,
  result: PruneResult,
): Promise<void> {
  for (let at = 0; at < files.length; at += FILES_PER_COMMAND) {
    const batch = files.slice(at, at + FILES_PER_COMMAND);
    const run = await server.transport.exec(['sh', '-c', REMOVE_SCRIPT, 'sh', ...batch.map((f) => f.source)]);
    const outcomes = run.stdout.toString('latin1');
    for (const [i, file] of batch.entries()) {
      if (outcomes[i] === 'Y') result.deleted.push(file.name);
      else
        result.problems.push(
          `cannot delete ${file.source}: ${run.stderr.trim() || `exit status ${run.code}`}`,
        );
    }
  }
}

/** Removes temp files a killed run left in `<target>/redologs/`. */
export async function cleanRedoTemps(target: string): Promise<void> {
  const dir = targetPaths(target).redologs;
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith('.') && n.endsWith('.tmp'))
      .map((n) => fs.promises.rm(path.join(dir, n), { force: true })),
  );
}

/**
 * OSE deletes a rolled-over log unless zimbraRedoLogDeleteOnRollover is FALSE (server entry,
 * else global config; Zimbra's default TRUE): then there is nothing to copy.
 */
export async function deleteOnRolloverWarning(ldap: Client, hostname: string): Promise<string | null> {
  const read = async (dn: string): Promise<string | undefined> => {
    try {
      const { searchEntries } = await ldap.search(dn, {
        scope: 'base',
        attributes: ['zimbraRedoLogDeleteOnRollover'],
      });
      const value = searchEntries[0]?.zimbraRedoLogDeleteOnRollover;
      return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
    } catch {
      return undefined;
    }
  };
  const value =
    (await read(`cn=${hostname},cn=servers,cn=zimbra`)) ?? (await read('cn=config,cn=zimbra')) ?? 'TRUE';
  if (value.toUpperCase() === 'FALSE') return null;
  return (
    `${hostname} deletes its redo logs at rollover (zimbraRedoLogDeleteOnRollover is ${value}): incremental backups ` +
    `will find nothing to copy. Run: zmprov ms ${hostname} zimbraRedoLogDeleteOnRollover FALSE`
  );
}
