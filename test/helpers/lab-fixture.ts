import { Client } from 'ldapts';
import mysql, { type Pool } from 'mysql2/promise';
import { mailboxDigest, type DigestOptions } from '../../src-main/engine/digest/mailbox-digest';
import { indexDir, mailboxDir, volumeFromRow } from '../../src-main/engine/server/volumes';
import { startLab, type Lab, type LabOptions } from '../../src-main/lab/lab';
import { accountDn } from '../../src-main/lab/simulator/accounts';
import type { LabServerInfo } from '../../src-main/lab/types';
import type { RowDataPacket } from 'mysql2/promise';

/** Starts a lab for one test file; `stop` is safe to call from afterAll even if start failed. */
export async function withLab(options: LabOptions = {}): Promise<Lab> {
  return startLab({ ...options });
}

export function pool(server: LabServerInfo): Pool {
  return mysql.createPool({
    socketPath: server.mariadb.socket,
    user: server.mariadb.user,
    password: server.mariadb.password,
    connectionLimit: 4,
  });
}

export async function ldapClient(server: LabServerInfo): Promise<Client> {
  const client = new Client({ url: server.ldap.url });
  await client.bind(server.ldap.bindDn, server.ldap.password);
  return client;
}

/** The state digest of one account's mailbox on a lab server, read from the live server. */
export async function digestAccount(
  server: LabServerInfo,
  db: Pool,
  ldap: Client,
  email: string,
  options?: DigestOptions,
) {
  const [mailbox] = await db.query<RowDataPacket[]>('SELECT id FROM zimbra.mailbox WHERE comment = ?', [
    email,
  ]);
  const mailboxId = Number(mailbox[0]?.id);
  const [volumes] = await db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const message = volumes.map(volumeFromRow).filter((v) => v.type === 1 || v.type === 2);
  const index = volumes.map(volumeFromRow).find((v) => v.type === 10)!;
  const { searchEntries } = await ldap.search(accountDn(email), { scope: 'base' });
  const ldapAttrs: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(searchEntries[0] ?? {})) {
    if (name === 'dn') continue;
    ldapAttrs[name] = (Array.isArray(value) ? value : [value]).map((v) =>
      Buffer.isBuffer(v) ? v.toString('base64') : String(v),
    );
  }
  const [groups] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mboxgroup%'",
  );
  return mailboxDigest(
    {
      db,
      mailboxGroups: Number(groups[0]?.n),
      blobRoots: message.map((v) => mailboxDir(v, mailboxId)),
      indexRoot: indexDir(index, mailboxId),
      ldap: ldapAttrs,
    },
    mailboxId,
    options,
  );
}
