import path from 'node:path';
import type { ServerAccess } from '../server/server-access';
import { dumpDatabases, zimbraDatabases } from './mariadb-tools';
import type { SnapshotEntry } from './record';
import type { StandbyDir } from './standby-dir';
import { appendRange, rangeSha256, standbySize, type TransferHooks } from './transfer';

/**
 * The mysql snapshot by copy: a consistent dump (mariadb-dump --single-transaction: one
 * InnoDB read view for zimbra and every mboxgroup) staged on the primary, whose SHA-256 is
 * taken there, then appended to the standby chunk by chunk. A new attempt after a dropped link
 * goes on from the standby copy's size with the same dump; the staged dump goes once the
 * standby's copy verifies. The snapshot's time is taken before the dump starts, so every op
 * prepared from then on is replayed (or found already present) at failover.
 */
export async function snapshotMysql(
  primary: ServerAccess,
  dir: StandbyDir,
  entry: SnapshotEntry,
  save: () => Promise<void>,
  hooks: TransferHooks,
): Promise<void> {
  const t = primary.transport;
  if (entry.dump && !(await t.stat(entry.dump.primaryFile))) {
    // The staged dump is gone (cleaned up on the primary): this attempt dumps anew.
    await dir.run(['rm', '-f', '--', dir.abs(entry.dump.file)]);
    delete entry.dump;
  }
  if (!entry.dump) {
    const databases = await zimbraDatabases(primary);
    entry.takenAt = Date.now();
    const primaryFile = path.posix.join(primary.zimbraHome, 'data/tmp/mailvault-standby', `${entry.id}.sql`);
    await dumpDatabases(primary, databases, primaryFile);
    const info = await t.stat(primaryFile);
    if (!info) throw new Error(`${t.name}: the dump ${primaryFile} vanished`);
    entry.dump = {
      file: `mysql/${entry.id}.sql`,
      primaryFile,
      size: info.size,
      sha256: await rangeSha256(t, primaryFile),
      databases,
    };
    await save();
  }
  const dump = entry.dump;
  let have = await standbySize(dir, dump.file);
  if (have > dump.size) {
    await dir.run(['rm', '-f', '--', dir.abs(dump.file)]);
    have = 0;
  }
  entry.resumedBytes += have;
  const sent = { bytes: 0, files: 0 };
  try {
    await appendRange(t, dump.primaryFile, dir, dump.file, have, dump.size, hooks, sent);
  } finally {
    entry.bytes += sent.bytes;
  }
  const mine = await rangeSha256(dir.transport, dir.abs(dump.file));
  if (mine !== dump.sha256) {
    await dir.run(['rm', '-f', '--', dir.abs(dump.file)]);
    throw new Error(
      `${dump.file}: the standby's copy does not match the dump (SHA-256); it will be sent again`,
    );
  }
  entry.files += 1;
  await t.exec(['rm', '-f', '--', dump.primaryFile]);
}
