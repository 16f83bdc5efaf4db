import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { archiveFileName } from '../redolog';
import type { ServerAccess } from '../server/server-access';
import { loadDump } from './mariadb-tools';
import type { SnapshotSet, VolumeRecord } from './record';
import { frozenRel } from './snapshot-files';
import type { StandbyDir } from './standby-dir';

/**
 * Puts a snapshot set in place on the standby, as the volumes of a server whose mailboxd is
 * stopped: the dump into its MariaDB (the stock client; the dump drops and recreates every
 * table), the set's blobs and index trees onto the volume the loaded zimbra.volume names, and the
 * redo logs into redolog/archive and redolog/redo.log, where zmplayredo looks for them.
 * Volume paths under the primary's zimbra_home are moved under the standby's (the same
 * /opt/zimbra on a real pair: then nothing changes).
 */
export interface LoadedSet {
  volumes: Array<{ id: number; from: string; to: string }>;
  redoLogs: number;
  /** How long each step took: the dump's load, the mirrors' copy, the redo logs' placing. */
  durationsMs: { mysql: number; files: number; redo: number };
}

export async function loadSet(
  standby: ServerAccess,
  dir: StandbyDir,
  set: SnapshotSet,
  records: Partial<Record<'mysql' | 'blobs' | 'index' | 'redolog', VolumeRecord>>,
): Promise<LoadedSet> {
  if (!set.mysql.dump) throw new Error(`${set.mysql.id}: its dump is no longer on the standby`);
  let started = Date.now();
  await loadDump(standby, dir.abs(set.mysql.dump.file));
  const mysqlMs = Date.now() - started;
  started = Date.now();

  const primaryHome = records.mysql?.primary.zimbraHome ?? standby.zimbraHome;
  const [rows] = await standby.db.query<RowDataPacket[]>('SELECT id, path FROM zimbra.volume');
  const moved: LoadedSet['volumes'] = [];
  for (const row of rows) {
    const from = String(row.path);
    let to = from;
    if (primaryHome !== standby.zimbraHome && (from === primaryHome || from.startsWith(`${primaryHome}/`)))
      to = standby.zimbraHome + from.slice(primaryHome.length);
    if (to !== from) await standby.db.query('UPDATE zimbra.volume SET path = ? WHERE id = ?', [to, row.id]);
    moved.push({ id: Number(row.id), from, to });
  }
  const place = async (mirror: string, volumeId: number) => {
    const target = moved.find((v) => v.id === volumeId)?.to;
    if (!target)
      throw new Error(`volume ${volumeId} of the ${mirror} mirror is not in the loaded zimbra.volume`);
    await dir.sh('rm -rf -- "$2" && mkdir -p -- "$1" "$2" && cp -a -- "$1/." "$2/"', [
      dir.abs(mirror),
      target,
    ]);
  };
  // A set's own trees (frozen/<snapshot id>/) hold its blobs and index as they were at its
  // snapshots; the mirrors hold the newest, used only for records made before the trees existed.
  for (const kind of ['blobs', 'index'] as const) {
    const entry = set[kind];
    for (const v of entry?.volumes ?? [])
      await place(entry!.frozen ? frozenRel(entry!.id, v.id) : `${kind}/${v.id}`, v.id);
  }

  const filesMs = Date.now() - started;
  started = Date.now();
  const redolog = path.posix.join(standby.zimbraHome, 'redolog');
  await dir.sh('mkdir -p -- "$1/archive" && rm -f -- "$1/redo.log" "$1"/archive/redo-*.log', [redolog]);
  const logs = records.redolog?.logs ?? [];
  const newest = logs[logs.length - 1];
  const pairs = logs.flatMap((log) => {
    const live = log === newest && !log.closed;
    const name = live ? 'redo.log' : `archive/${log.archiveName ?? archiveFileName(Date.now(), log.seq)}`;
    return [dir.abs(`redolog/seq-${log.seq}.log`), path.posix.join(redolog, name)];
  });
  // One command for every log: pairs of (copy on the standby, its place in redolog/).
  for (let i = 0; i < pairs.length; i += 400)
    await dir.sh('while [ $# -gt 1 ]; do cp -- "$1" "$2" || exit 1; shift 2; done', pairs.slice(i, i + 400));
  return {
    volumes: moved,
    redoLogs: logs.length,
    durationsMs: { mysql: mysqlMs, files: filesMs, redo: Date.now() - started },
  };
}
