import type { Client } from 'ldapts';
import type { RowDataPacket } from 'mysql2/promise';
import { exportDirectory } from '../ldap/directory';
import { toLdif } from '../ldap/ldif';
import type { ServerAccess } from '../server/server-access';
import { SESSION_FILES, systemTableDumpPath } from '../target/layout';
import type { SessionWriter } from '../target/session-writer';
import { dumpFooter, dumpHeader, dumpWholeTable } from './sql-dump';

/**
 * The system tables of database `zimbra`: every table that is not mailbox-scoped (those go with
 * their account), found from information_schema like everything else.
 */
export async function systemTables(
  server: ServerAccess,
): Promise<Array<{ name: string; keyColumns: string[] }>> {
  const [tables] = await server.db.query<RowDataPacket[]>(
    `SELECT t.TABLE_NAME AS name,
            SUM(c.COLUMN_NAME = 'mailbox_id') AS scoped
       FROM information_schema.TABLES t
       JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
      WHERE t.TABLE_SCHEMA = 'zimbra' AND t.TABLE_TYPE = 'BASE TABLE'
      GROUP BY t.TABLE_NAME ORDER BY t.TABLE_NAME`,
  );
  const [keys] = await server.db.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = 'zimbra' AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX`,
  );
  return tables
    .filter((t) => Number(t.scoped) === 0 && t.name !== 'mailbox')
    .map((t) => ({
      name: String(t.name),
      keyColumns: keys.filter((k) => k.name === t.name).map((k) => String(k.col)),
    }));
}

/** SPEC §1 step 1: localconfig.xml and the system tables, into sys/. */
export async function backupSystem(server: ServerAccess, session: SessionWriter): Promise<void> {
  await session.writeFile(SESSION_FILES.localconfig, server.localconfigXml);
  const connection = await server.db.getConnection();
  try {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    for (const table of await systemTables(server)) {
      const out = await session.createWriteStream(systemTableDumpPath(table.name));
      out.write(dumpHeader(`zimbra.${table.name} on ${server.settings.hostname}`));
      await dumpWholeTable(connection, 'zimbra', table.name, table.keyColumns, out);
      out.end(dumpFooter);
      await out.record;
    }
    await connection.query('COMMIT');
  } finally {
    connection.release();
  }
}

/** SPEC §1 step 6: the whole directory, parents first, as one LDIF ldapadd loads. */
export async function backupDirectory(client: Client, session: SessionWriter): Promise<number> {
  const entries = await exportDirectory(client);
  await session.writeFile(SESSION_FILES.directoryLdif, toLdif(entries));
  return entries.length;
}
