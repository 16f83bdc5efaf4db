import { Client } from 'ldapts';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import {
  blobPath,
  indexDir,
  mailboxGroupDb,
  VOLUME_TYPE,
  volumeFromRow,
  type Volume,
} from '../../engine/server/volumes';
import type { LabServerInfo } from '../types';
import { homePaths } from '../zimbra-home';
import { accountStatus, accountsOnServer } from './accounts';
import { loadMailbox } from './load-mailbox';
import type { SimMailbox, SimMessage } from './mailbox';
import type { GeneratedMessage } from './messages';
import { Random } from './random';
import { RedoManager } from './redo-manager';
import { SearchIndex } from './search-index';

/**
 * What the simulator's parts share (simulator.ts puts them together): the lab server's
 * connections and current volumes, the redo log, the seeded random stream every decision draws
 * from (one stream, so a seed replays the same activity), the counters, and the deliveries the
 * MTA keeps for later.
 */
export interface SimulatorOptions {
  seed?: number | string;
  /** redo.log rollover size; Zimbra's default is 1 GiB, the lab rolls over much sooner. */
  rolloverBytes?: number;
  /** Probability that an operation is aborted / left without commit (a crash mid-transaction). */
  abortRate?: number;
  abandonRate?: number;
}

export interface SimStats {
  delivered: number;
  deferred: number;
  operations: number;
  aborted: number;
  abandoned: number;
  skippedInMaintenance: number;
}

export interface Deferred {
  email: string;
  message: GeneratedMessage;
}

export interface SimContext {
  readonly server: LabServerInfo;
  readonly db: Pool;
  readonly ldap: Client;
  readonly redo: RedoManager;
  readonly messageVolume: Volume;
  readonly indexVolume: Volume;
  /** How many mboxgroup databases the server has (a mailbox's group follows from its id). */
  readonly groups: number;
  readonly options: SimulatorOptions;
  readonly random: Random;
  readonly mailboxes: Map<string, SimMailbox>;
  readonly stats: SimStats;
  /** Deliveries not made yet (account in maintenance, or a failed delivery): the MTA's queue. */
  deferred: Deferred[];
}

/** An account in maintenance takes no delivery and no login. */
export async function isAvailable(sim: SimContext, m: SimMailbox): Promise<boolean> {
  return (await accountStatus(sim.ldap, m.email)) !== 'maintenance';
}

/** A message comes into (1) or leaves (-1) its folder: the folder's and the mailbox's counters follow. */
export function countIn(m: SimMailbox, msg: SimMessage, sign: 1 | -1): void {
  const folder = m.folders.get(msg.folderId)!;
  folder.count += sign;
  if (msg.unread) folder.unread += sign;
  m.totalSize += sign * msg.size;
}

/**
 * Connects to the lab server (MariaDB, LDAP), finds its current volumes and mboxgroup count,
 * opens its redo log, and loads the mailboxes of the accounts already on it, so that activity
 * carries on where an earlier simulator left off.
 */
export async function openContext(server: LabServerInfo, options: SimulatorOptions): Promise<SimContext> {
  const db = mysql.createPool({
    socketPath: server.mariadb.socket,
    user: server.mariadb.user,
    password: server.mariadb.password,
    connectionLimit: 8,
    multipleStatements: false,
  });
  const ldap = new Client({ url: server.ldap.url });
  await ldap.bind(server.ldap.bindDn, server.ldap.password);
  const [volumes] = await db.query<RowDataPacket[]>(
    'SELECT v.* , cv.message_volume_id, cv.index_volume_id FROM zimbra.volume v JOIN zimbra.current_volumes cv',
  );
  const current = volumes[0];
  const byId = (id: unknown) => volumeFromRow(volumes.find((v) => Number(v.id) === Number(id))!);
  const [groupRows] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mboxgroup%'",
  );
  const { searchEntries } = await ldap.search(`cn=${server.hostname},cn=servers,cn=zimbra`, {
    scope: 'base',
    attributes: ['zimbraId'],
  });
  const p = homePaths(server.zimbraHome);
  const redo = await RedoManager.open({
    redoLog: p.redoLog,
    archiveDir: p.redoArchive,
    serverId: String(searchEntries[0]?.zimbraId ?? server.hostname),
    rolloverBytes: options.rolloverBytes ?? 16 * 1024 * 1024,
  });
  const sim: SimContext = {
    server,
    db,
    ldap,
    redo,
    messageVolume: byId(current?.message_volume_id),
    indexVolume: byId(current?.index_volume_id),
    groups: Number(groupRows[0]?.n ?? 100),
    options,
    random: new Random(options.seed ?? 1),
    mailboxes: new Map(),
    stats: {
      delivered: 0,
      deferred: 0,
      operations: 0,
      aborted: 0,
      abandoned: 0,
      skippedInMaintenance: 0,
    },
    deferred: [],
  };
  if (sim.messageVolume.type !== VOLUME_TYPE.primaryMessage)
    throw new Error('current message volume is not a primary message volume');
  for (const account of await accountsOnServer(ldap, server.ldap.baseDn, server.hostname)) {
    const loaded = await loadMailbox(
      db,
      account,
      (id) => mailboxGroupDb(id, sim.groups),
      (id) => new SearchIndex(indexDir(sim.indexVolume, id)),
      (id, itemId, rev) => blobPath(sim.messageVolume, id, itemId, rev),
    );
    if (loaded) sim.mailboxes.set(account.email, loaded);
  }
  return sim;
}
