import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverMailboxTables } from '../../src-main/engine/digest/mailbox-tables';
import type { Lab } from '../../src-main/lab/lab';
import { pool, withLab } from '../helpers/lab-fixture';

/**
 * discoverMailboxTables reads the server's schema as it is (Zimbra's differs between versions):
 * tables another schema version adds are found, with their primary key in key order, views are
 * not, and another group database's tables are not.
 */
let lab: Lab;
let db: Pool;

beforeAll(async () => {
  lab = await withLab({ mailboxGroups: 3 });
  db = pool(lab.info.servers[0]!);
  // As a later schema version might have them.
  for (const statement of [
    // Primary key in another order than the columns: keys must follow the key.
    'CREATE TABLE mboxgroup2.later_item (note VARCHAR(20), item_id INT, mailbox_id INT, PRIMARY KEY (item_id, mailbox_id))',
    'CREATE TABLE mboxgroup2.later_log (mailbox_id INT, line VARCHAR(20))',
    'CREATE VIEW mboxgroup2.later_view AS SELECT mailbox_id, id FROM mboxgroup2.mail_item',
    'CREATE TABLE mboxgroup2.no_mailbox (id INT PRIMARY KEY)',
    'CREATE TABLE mboxgroup3.later_item (mailbox_id INT PRIMARY KEY)',
    'CREATE TABLE zimbra.later_setting (name VARCHAR(20), mailbox_id INT, PRIMARY KEY (mailbox_id, name))',
    'CREATE VIEW zimbra.later_view AS SELECT id AS mailbox_id FROM zimbra.mailbox',
  ])
    await db.query(statement);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await lab?.stop();
});

describe('discoverMailboxTables', () => {
  it('finds the tables a later schema adds, with their key columns, and no view', async () => {
    const found = await discoverMailboxTables(db, 'mboxgroup2');
    const byName = new Map(found.map((t) => [`${t.database}.${t.name}`, t]));
    expect(byName.get('mboxgroup2.later_item')).toEqual({
      database: 'mboxgroup2',
      name: 'later_item',
      mailboxColumn: 'mailbox_id',
      keyColumns: ['item_id', 'mailbox_id'],
    });
    // No primary key: every column, in column order.
    expect(byName.get('mboxgroup2.later_log')?.keyColumns).toEqual(['mailbox_id', 'line']);
    expect(byName.get('zimbra.later_setting')?.keyColumns).toEqual(['mailbox_id', 'name']);
    expect(byName.get('zimbra.mailbox')).toEqual({
      database: 'zimbra',
      name: 'mailbox',
      mailboxColumn: 'id',
      keyColumns: ['id'],
    });
    for (const absent of ['mboxgroup2.later_view', 'mboxgroup2.no_mailbox', 'zimbra.later_view'])
      expect(byName.has(absent), absent).toBe(false);
    expect(found.filter((t) => t.database === 'mboxgroup3')).toEqual([]);
    expect(found.map((t) => `${t.database}.${t.name}`)).toEqual([...byName.keys()].sort());
  });

  it('finds every base table with a mailbox_id column that information_schema lists for the two databases', async () => {
    // The question asked plainly (a join MariaDB answers slowly), as the reference.
    const [expected] = await db.query<RowDataPacket[]>(
      `SELECT CONCAT(c.TABLE_SCHEMA, '.', c.TABLE_NAME) AS name
         FROM information_schema.COLUMNS c
         JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
        WHERE c.TABLE_SCHEMA IN ('zimbra', 'mboxgroup1') AND t.TABLE_TYPE = 'BASE TABLE'
          AND (c.COLUMN_NAME = 'mailbox_id' OR (c.TABLE_SCHEMA = 'zimbra' AND c.TABLE_NAME = 'mailbox' AND c.COLUMN_NAME = 'id'))`,
    );
    const found = await discoverMailboxTables(db, 'mboxgroup1');
    expect(found.map((t) => `${t.database}.${t.name}`).sort()).toEqual(
      expected.map((r) => String(r.name)).sort(),
    );
    // Zimbra's own tables are among them: the group's items and the zimbra database's.
    expect(found.map((t) => `${t.database}.${t.name}`)).toEqual(
      expect.arrayContaining(['mboxgroup1.mail_item', 'mboxgroup1.tagged_item', 'zimbra.mailbox_metadata']),
    );
  });
});
