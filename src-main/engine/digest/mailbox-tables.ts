import type { Pool, RowDataPacket } from 'mysql2/promise';

/** A table holding rows of one mailbox, and the columns that identify a row in it. */
export interface MailboxTable {
  database: string;
  name: string;
  /** `id` for zimbra.mailbox itself, `mailbox_id` elsewhere. */
  mailboxColumn: string;
  keyColumns: string[];
}

/**
 * Every table with a mailbox's rows: the zimbra.mailbox row itself, each table of database
 * `zimbra` with a `mailbox_id` column, and each table of the mailbox's group database. Found from
 * information_schema so that a server on another schema version is read as it is.
 */
export async function discoverMailboxTables(db: Pool, groupDb: string): Promise<MailboxTable[]> {
  const [columns] = await db.query<RowDataPacket[]>(
    `SELECT c.TABLE_SCHEMA AS db, c.TABLE_NAME AS name, c.COLUMN_NAME AS col, c.ORDINAL_POSITION AS pos,
            c.COLUMN_KEY AS col_key
       FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
      WHERE c.TABLE_SCHEMA IN ('zimbra', ?) AND t.TABLE_TYPE = 'BASE TABLE'
      ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
    [groupDb],
  );
  const [keys] = await db.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, COLUMN_NAME AS col
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA IN ('zimbra', ?) AND INDEX_NAME = 'PRIMARY'
      ORDER BY TABLE_SCHEMA, TABLE_NAME, SEQ_IN_INDEX`,
    [groupDb],
  );
  const byTable = new Map<string, { db: string; name: string; columns: string[]; primary: string[] }>();
  for (const c of columns) {
    const key = `${c.db}.${c.name}`;
    if (!byTable.has(key))
      byTable.set(key, { db: String(c.db), name: String(c.name), columns: [], primary: [] });
    byTable.get(key)!.columns.push(String(c.col));
  }
  for (const k of keys) byTable.get(`${k.db}.${k.name}`)?.primary.push(String(k.col));
  const tables: MailboxTable[] = [];
  for (const t of byTable.values()) {
    // Without a primary key, every column identifies a row (duplicates are then counted as one).
    const keyColumns = t.primary.length > 0 ? t.primary : t.columns;
    if (t.db === 'zimbra' && t.name === 'mailbox')
      tables.push({ database: t.db, name: t.name, mailboxColumn: 'id', keyColumns });
    else if (t.columns.includes('mailbox_id'))
      tables.push({ database: t.db, name: t.name, mailboxColumn: 'mailbox_id', keyColumns });
  }
  return tables.sort((a, b) => `${a.database}.${a.name}`.localeCompare(`${b.database}.${b.name}`));
}
