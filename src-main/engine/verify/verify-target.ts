import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { committedLogs } from '../backup/redo-archive';
import { scanRedoLog } from '../backup/redo-scan';
import { dumpFooter } from '../backup/sql-dump';
import { targetPaths } from '../target/layout';
import type { Manifest } from '../target/manifest';
import { listSessions, type SessionListing } from '../target/session-list';
import { ZipReader } from '../target/zip-reader';
import { checkLdif } from './ldif-check';

/**
 * `mailvault verify`: proves sessions intact from the target alone. Every file a manifest lists
 * is re-read (size, SHA-256), zips are tested entry by entry (CRC-32 and size, as unzip -t),
 * SQL dumps and LDIF are checked for their shape, files the manifest does not list are reported,
 * and the redo logs of `<target>/redologs/` are checked against their records, parsed, and
 * checked for gaps in sequence.
 */
export interface Finding {
  label?: string;
  email?: string;
  file?: string;
  problem: string;
}

export interface SessionVerdict {
  label: string;
  intact: boolean;
  files: number;
  bytes: number;
  accounts: Array<{ zimbraId: string; email: string; intact: boolean }>;
  findings: Finding[];
}

export interface TargetVerdict {
  intact: boolean;
  sessions: SessionVerdict[];
  /** Redo log problems (missing, changed, damaged, gaps), and sessions that are not valid. */
  findings: Finding[];
}

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** The problem with one file of a session, or null. */
async function checkFile(file: string, record: { bytes: number; sha256: string }): Promise<string | null> {
  let size: number;
  try {
    // lstat: a FIFO, a device or a link in a file's place is damage, and reading one could hang.
    const stat = await fs.promises.lstat(file);
    if (!stat.isFile()) return 'is not a regular file';
    size = stat.size;
  } catch {
    return 'is missing';
  }
  if (size !== record.bytes) return `is ${size} bytes, the manifest says ${record.bytes}`;
  if ((await sha256Of(file)) !== record.sha256) return 'does not match its SHA-256';
  // The checksum matched, so what follows checks what was written, not what the disk did to it.
  if (file.endsWith('.zip')) {
    try {
      const reader = await ZipReader.open(file);
      try {
        await reader.test();
      } finally {
        reader.close();
      }
    } catch (error) {
      return `is not an intact zip: ${(error as Error).message}`;
    }
  }
  if (file.endsWith('.sql')) {
    const tail = Buffer.alloc(dumpFooter.length);
    const handle = await fs.promises.open(file, 'r');
    try {
      await handle.read(tail, 0, tail.length, Math.max(0, size - tail.length));
    } finally {
      await handle.close();
    }
    if (tail.toString('utf8') !== dumpFooter)
      return 'is a cut-off SQL dump (its closing statements are missing)';
  }
  if (file.endsWith('.ldif')) return checkLdif(await fs.promises.readFile(file, 'utf8'));
  return null;
}

async function filesOnDisk(dir: string): Promise<string[]> {
  const entries = await fs.promises.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

export async function verifySession(
  listing: SessionListing & { manifest: Manifest },
): Promise<SessionVerdict> {
  const { manifest, dir } = listing;
  const findings: Finding[] = [];
  const owner = new Map<string, { email: string; zimbraId: string }>();
  for (const account of manifest.accounts) for (const file of account.files) owner.set(file, account);
  let bytes = 0;
  for (const [relative, record] of Object.entries(manifest.files)) {
    const problem = await checkFile(path.join(dir, ...relative.split('/')), record);
    bytes += record.bytes;
    if (problem)
      findings.push({ label: manifest.label, email: owner.get(relative)?.email, file: relative, problem });
  }
  for (const relative of await filesOnDisk(dir))
    if (relative !== 'manifest.json' && !(relative in manifest.files))
      findings.push({ label: manifest.label, file: relative, problem: 'is not in the manifest' });
  const broken = new Set(findings.map((f) => f.email).filter(Boolean));
  return {
    label: manifest.label,
    intact: findings.length === 0,
    files: Object.keys(manifest.files).length,
    bytes,
    accounts: manifest.accounts.map((a) => ({
      zimbraId: a.zimbraId,
      email: a.email,
      intact: !broken.has(a.email),
    })),
    findings,
  };
}

export async function verifyTarget(target: string, options: { label?: string } = {}): Promise<TargetVerdict> {
  const listings = await listSessions(target);
  const findings: Finding[] = [];
  const complete = listings.filter(
    (l): l is SessionListing & { manifest: Manifest } => l.state === 'complete',
  );
  for (const l of listings)
    if (l.state === 'invalid' && (!options.label || l.label === options.label))
      findings.push({ label: l.label, problem: `is not a valid session: ${l.reason}` });
  const chosen = options.label ? complete.filter((l) => l.label === options.label) : complete;
  const sessions: SessionVerdict[] = [];
  for (const listing of chosen) sessions.push(await verifySession(listing));
  findings.push(...(await verifyRedoChain(target, options.label ? chosen : complete, !options.label)));
  return { intact: findings.length === 0 && sessions.every((s) => s.intact), sessions, findings };
}

/** The redo logs the given sessions list, and the sequence of each server's logs as a whole. */
async function verifyRedoChain(
  target: string,
  sessions: Array<{ manifest: Manifest }>,
  wholeTarget: boolean,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const gap = (hostname: string, from: number, to: number) =>
    findings.push({
      problem: `redo log gap on ${hostname}: ${from === to ? `sequence ${from} is` : `sequences ${from} to ${to} are`} not in the target`,
    });
  const dir = targetPaths(target).redologs;
  for (const hostname of new Set(sessions.map((s) => s.manifest.server.hostname))) {
    const logs = committedLogs(sessions, hostname);
    // The chain starts at the redo.log that was live when the first full began (its ops after
    // the full are what restores to a later time replay).
    const firstFull = sessions.find(
      (s) => s.manifest.type === 'full' && s.manifest.server.hostname === hostname,
    );
    const start = wholeTarget ? firstFull?.manifest.redo.seq?.min : undefined;
    if (start !== undefined && logs[0] && logs[0].seq > start) gap(hostname, start, logs[0].seq - 1);
    for (const [i, log] of logs.entries()) {
      const file = path.join(dir, log.name);
      const problem = await checkFile(file, log);
      if (problem) {
        findings.push({ file: `redologs/${log.name}`, problem });
        continue;
      }
      const scan = await scanRedoLog(file, log.seq);
      for (const p of scan.problems) findings.push({ file: `redologs/${log.name}`, problem: p });
      const previous = logs[i - 1];
      if (previous && log.seq !== previous.seq + 1) gap(hostname, previous.seq + 1, log.seq - 1);
    }
  }
  return findings;
}
