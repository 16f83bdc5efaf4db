import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { indexDir, mailboxDir, volumeFromRow } from '../../src-main/engine/server/volumes';
import { accountPaths, sessionDir } from '../../src-main/engine/target/layout';
import type { ManifestAccount } from '../../src-main/engine/target/manifest';
import { run } from '../../src-main/lab/exec';
import type { LabServerInfo } from '../../src-main/lab/types';

/**
 * Restores one account of a session into a lab server with the stock tools only, as an
 * administrator would by hand: `ldapadd` for the entry, `mariadb <` for the rows, `unzip` for
 * blobs and index (the blobs zip holds `<volume id>/<path under the mailbox directory>`), and
 * `unzip -p` from another account's blobs.zip for each line of blobs-shared.tsv.
 */
export async function restoreWithPlainTools(
  target: string,
  label: string,
  account: ManifestAccount,
  server: LabServerInfo,
  db: Pool,
): Promise<void> {
  const dir = path.join(sessionDir(target, label), ...accountPaths(account.zimbraId).dir.split('/'));
  await run('ldapadd', [
    '-x',
    '-H',
    server.ldap.url,
    '-D',
    server.ldap.bindDn,
    '-w',
    server.ldap.password,
    '-f',
    path.join(dir, 'ldap.ldif'),
  ]);
  if (account.mailboxId === null) return;
  await run(
    'mariadb',
    [
      '--no-defaults',
      '-S',
      server.mariadb.socket,
      '-u',
      server.mariadb.user,
      `--password=${server.mariadb.password}`,
    ],
    {
      input: fs.readFileSync(path.join(dir, 'mailbox.sql')),
    },
  );
  const [rows] = await db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const volumes = rows.map(volumeFromRow);
  const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'plain-restore-'));
  try {
    await run('unzip', ['-q', path.join(dir, 'blobs.zip'), '-d', path.join(unpacked, 'blobs')]);
    for (const volumeDir of fs.readdirSync(path.join(unpacked, 'blobs'))) {
      const volume = volumes.find((v) => String(v.id) === volumeDir);
      if (!volume) throw new Error(`blobs.zip names volume ${volumeDir}, which this server does not have`);
      const dest = mailboxDir(volume, account.mailboxId);
      fs.mkdirSync(dest, { recursive: true });
      await run('cp', ['-a', `${path.join(unpacked, 'blobs', volumeDir)}/.`, dest]);
    }
    const shared = path.join(dir, 'blobs-shared.tsv');
    const lines = fs.existsSync(shared) ? fs.readFileSync(shared, 'utf8').split('\n').filter(Boolean) : [];
    for (const line of lines) {
      const [name, holder, entry] = line.split('\t') as [string, string, string];
      const [volumeDir, ...rest] = name.split('/');
      const volume = volumes.find((v) => String(v.id) === volumeDir);
      if (!volume)
        throw new Error(`blobs-shared.tsv names volume ${volumeDir}, which this server does not have`);
      const holderZip = path.join(sessionDir(target, label), ...accountPaths(holder).blobsZip.split('/'));
      const dest = path.join(mailboxDir(volume, account.mailboxId), ...rest);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, execFileSync('unzip', ['-p', holderZip, entry], { maxBuffer: 1 << 30 }));
    }
    const indexVolume = volumes.find((v) => v.type === 10)!;
    const indexTarget = indexDir(indexVolume, account.mailboxId);
    fs.mkdirSync(indexTarget, { recursive: true });
    await run('unzip', ['-q', path.join(dir, 'index.zip'), '-d', indexTarget]);
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}
