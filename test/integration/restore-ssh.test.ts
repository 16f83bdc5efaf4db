import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import { mailboxDir, volumeFromRow, type Volume } from '../../src-main/engine/server/volumes';
import { SshTransport } from '../../src-main/engine/transport';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { diffWithoutIndex, startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * The restore with the engine elsewhere: database and LDAP through the SSH link, archives
 * unpacked on the server as tar streams, replayed blobs written and the server's redo logs read
 * through the same connection. The digests are the same as with the engine on the server.
 */
let r: RestoreLab;
let ssh: ServerAccess;

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-ssh',
    accounts: ['ann', 'ben'],
    messages: 8,
    operations: 80,
    instantsEvery: 17,
  });
  const s = r.server;
  ssh = await openServerAccess(
    await SshTransport.connect({
      name: s.hostname,
      host: s.ssh.host,
      port: s.ssh.port,
      username: s.ssh.user,
      privateKey: fs.readFileSync(s.ssh.privateKeyPath),
      hostKeyFingerprint: s.ssh.hostKeyFingerprint,
    }),
    { zimbraHome: s.zimbraHome, local: false },
  );
});

afterAll(async () => {
  await ssh?.close();
  await r?.stop();
});

describe('zmrestore over SSH', () => {
  it('restores the full only, blobs and index included, to the digest at the full', async () => {
    const email = r.emails[0]!;
    // A staging folder a killed run left, with a file no backup holds: removed through the link
    // before the files are staged, and the staged folders renamed into place (mv on the server).
    const [rows] = (await r.db.query('SELECT * FROM zimbra.volume')) as unknown as [
      Array<Record<string, unknown>>,
    ];
    const volumes: Volume[] = rows.map(volumeFromRow);
    const id = r.atFull.get(email)!.mailboxId;
    for (const v of volumes) {
      const leftover = path.join(`${mailboxDir(v, id)}.mailvault-restore`, 'msg', '0', '77777-1.msg');
      fs.mkdirSync(path.dirname(leftover), { recursive: true });
      fs.writeFileSync(leftover, 'left by a killed run');
    }
    const result = await runRestore(ssh, { target: r.target, accounts: [email], fullOnly: true });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    expect(diffDigests(r.atFull.get(email)!, await r.digest(email))).toEqual([]);
    for (const v of volumes) expect(fs.existsSync(`${mailboxDir(v, id)}.mailvault-restore`)).toBe(false);
  });

  it('restores to an instant T, reading the server redo logs over the link', async () => {
    const instant = r.instants[r.instants.length - 1]!;
    const result = await runRestore(ssh, {
      target: r.target,
      accounts: [instant.email],
      restoreToTime: instant.atMs,
    });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    expect(result.replay!.files.some((f) => f.from === 'server')).toBe(true);
    expect(result.replay!.applied).toBeGreaterThan(0);
    expect(diffWithoutIndex(instant.digest, await r.digest(instant.email))).toEqual([]);
    expect(await accountStatus(r.ldap, instant.email)).toBe('active');
  });
});
