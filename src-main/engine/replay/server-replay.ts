import { EqualityFilter, type Client } from 'ldapts';
import type { RowDataPacket } from 'mysql2/promise';
import type { ServerAccess } from '../server/server-access';
import { VOLUME_TYPE, volumeFromRow, type Volume } from '../server/volumes';
import type { PlayOptions } from './player';
import { serverFiles } from './server-files';

/** What replay needs of a server: its volumes (current message and index), groups and file access. */
export type ServerReplayBase = Pick<
  PlayOptions,
  'db' | 'files' | 'volumes' | 'messageVolume' | 'indexVolumeId' | 'mailboxGroups' | 'accountEmail'
>;

export async function serverReplayBase(server: ServerAccess, ldap?: Client): Promise<ServerReplayBase> {
  const [rows] = await server.db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const [current] = await server.db.query<RowDataPacket[]>(
    'SELECT message_volume_id, index_volume_id FROM zimbra.current_volumes',
  );
  const volumes: Volume[] = rows.map(volumeFromRow);
  const messageVolume = volumes.find((v) => v.id === Number(current[0]?.message_volume_id));
  if (!messageVolume || messageVolume.type !== VOLUME_TYPE.primaryMessage)
    throw new Error(`${server.name}: zimbra.current_volumes names no primary message volume`);
  const indexVolumeId = Number(current[0]?.index_volume_id);
  return {
    db: server.db,
    files: serverFiles(server.transport),
    volumes,
    messageVolume,
    indexVolumeId,
    mailboxGroups: server.settings.mailboxGroups,
    accountEmail: ldap
      ? async (accountId) => {
          const { searchEntries } = await ldap.search('', {
            scope: 'sub',
            filter: new EqualityFilter({ attribute: 'zimbraId', value: accountId }),
            attributes: ['zimbraMailDeliveryAddress', 'mail'],
          });
          const e = searchEntries[0];
          const v = e?.zimbraMailDeliveryAddress ?? e?.mail;
          return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
        }
      : undefined,
  };
}
