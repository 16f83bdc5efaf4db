import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountPaths } from '../../../src-main/engine/target/layout';
import { acquireLock, readLock, type TargetLock } from '../../../src-main/engine/target/lock';
import { readManifest, validateManifest } from '../../../src-main/engine/target/manifest';
import { completeSessions, listSessions } from '../../../src-main/engine/target/session-list';
import { readLiveStatus } from '../../../src-main/engine/target/session-status';
import { type CommitInput, SessionWriter } from '../../../src-main/engine/target/session-writer';
import { ACCOUNT_ID, SERVER_ID, tempDir, validManifest } from './fixtures';

const child = fileURLToPath(new URL('./session-child.ts', import.meta.url));
const frozen = Date.UTC(2021, 6, 12, 15, 59, 51, 123);
const sha256 = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

const commitInput = (over: Partial<CommitInput> = {}): CommitInput => ({
  server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
  engineVersion: '0.1.0',
  status: 'completed',
  redo: { seq: { min: 12, max: 14 }, timeMs: null },
  options: { zip: 'store', blobs: true, index: true },
  accounts: [
    {
      zimbraId: ACCOUNT_ID,
      email: 'user1@example.com',
      mailboxId: 7,
      status: 'COMPLETED',
      maintenance: { startMs: frozen + 10, endMs: frozen + 20 },
    },
  ],
  errors: [],
  ...over,
});

let target: string;
let lock: TargetLock;
beforeEach(async () => {
  target = tempDir('mv-session-');
  lock = await acquireLock(target, { operation: 'full backup' });
});
afterEach(async () => {
  await lock.release().catch(() => undefined);
  fs.rmSync(target, { recursive: true, force: true });
});

async function writeSampleSession(session: SessionWriter): Promise<void> {
  await session.writeFile('sys/localconfig.xml', '<localconfig/>\n');
  await session.writeFile('ldap/directory.ldif', 'dn: dc=example,dc=com\n');
  await session.writeAccountLdif(ACCOUNT_ID, 'dn: uid=user1,ou=people,dc=example,dc=com\n');
  const sql = await session.createMailboxSqlStream(ACCOUNT_ID);
  sql.end('INSERT INTO mail_item VALUES (1);\n');
  await finished(sql);
  const blobs = await session.createAccountArchive(ACCOUNT_ID, 'blobs', 'store');
  await blobs.addBuffer('0/260-110.msg', 'Subject: hi\r\n\r\nbody\r\n');
  await blobs.finish();
  const index = await session.createAccountArchive(ACCOUNT_ID, 'index', 'none');
  await index.addBuffer('segments_1', 'lucene');
  await index.finish();
}

describe('session writer and commit protocol', () => {
  it('lists a session as complete only once it is committed, with every file checksummed', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock, now: () => frozen });
    expect(session.label).toBe('full-20210712.155951.123');
    expect((await readLock(target)).state === 'held' && lock.info.label).toBe(session.label);
    expect(await readLiveStatus(session.dir)).toMatchObject({
      label: session.label,
      status: 'in progress',
      bytes: 0,
    });
    await writeSampleSession(session);
    session.progress({ accounts: { total: 1, done: 1, errors: 0 }, currentAccount: 'user1@example.com' });

    let listed = await listSessions(target);
    expect(listed).toMatchObject([
      { label: session.label, state: 'in progress', live: { label: session.label, status: 'in progress' } },
    ]);
    expect(await completeSessions(target)).toEqual([]);

    const manifest = await session.commit(commitInput());
    listed = await listSessions(target);
    expect(listed).toMatchObject([{ label: session.label, state: 'complete' }]);
    expect(fs.readdirSync(path.join(target, 'tmp'))).toEqual([]);

    const dir = path.join(target, 'sessions', session.label);
    const onDisk = await readManifest(dir);
    expect(onDisk).toEqual({ state: 'complete', manifest });
    const account = accountPaths(ACCOUNT_ID);
    expect(Object.keys(manifest.files).sort()).toEqual(
      [
        'sys/localconfig.xml',
        'ldap/directory.ldif',
        account.ldif,
        account.mailboxSql,
        account.blobsZip,
        `${account.indexDir}/segments_1`,
      ].sort(),
    );
    for (const [file, record] of Object.entries(manifest.files)) {
      const data = fs.readFileSync(path.join(dir, file));
      expect(record).toEqual({ bytes: data.length, sha256: sha256(data) });
    }
    expect(fs.existsSync(path.join(dir, 'status.json'))).toBe(false);
    expect(manifest.accounts[0]!.files.sort()).toEqual(
      [account.ldif, account.mailboxSql, account.blobsZip, `${account.indexDir}/segments_1`].sort(),
    );
    expect(manifest.accounts[0]!.bytes).toBe(
      manifest.accounts[0]!.files.reduce((n, f) => n + manifest.files[f]!.bytes, 0),
    );
    await expect(session.writeFile('late.txt', 'x')).rejects.toThrow(/committed/);
  });

  it('refuses to commit while a file is still being written, and leaves the session open', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    const sql = await session.createMailboxSqlStream(ACCOUNT_ID);
    sql.write('INSERT');
    await expect(session.commit(commitInput({ accounts: [] }))).rejects.toMatchObject({
      code: 'SESSION_STATE',
    });
    sql.end();
    await finished(sql);
    await session.commit(commitInput({ accounts: [] }));
  });

  it('refuses files written behind its back until they are adopted', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    fs.mkdirSync(path.join(session.dir, 'sys'));
    fs.writeFileSync(path.join(session.dir, 'sys', 'mailbox.sql'), 'dumped by mariadb-dump\n');
    await expect(session.commit(commitInput({ accounts: [] }))).rejects.toMatchObject({
      code: 'UNRECORDED_FILES',
    });
    await session.adoptFile('sys/mailbox.sql');
    const manifest = await session.commit(commitInput({ accounts: [] }));
    expect(manifest.files['sys/mailbox.sql']).toEqual({
      bytes: 23,
      sha256: sha256(Buffer.from('dumped by mariadb-dump\n')),
    });
  });

  it('never writes an invalid manifest, and leaves the session open to fix it', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    const bad = commitInput({ accounts: [{ ...commitInput().accounts[0]!, status: 'ERROR' }] });
    await expect(session.commit(bad)).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    expect(fs.existsSync(path.join(session.dir, 'manifest.json'))).toBe(false);
    const manifest = await session.commit(
      commitInput({
        status: 'completed with errors',
        accounts: [{ ...commitInput().accounts[0]!, status: 'ERROR', error: 'mailbox locked' }],
      }),
    );
    expect(manifest.status).toBe('completed with errors');
  });

  it('refuses the names it writes itself, duplicates and escaping paths', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    await expect(session.writeFile('manifest.json', '{}')).rejects.toMatchObject({ code: 'SESSION_STATE' });
    await expect(session.writeFile('status.json', '{}')).rejects.toMatchObject({ code: 'SESSION_STATE' });
    await session.writeFile('sys/a', 'a');
    await expect(session.writeFile('sys/a', 'b')).rejects.toMatchObject({ code: 'SESSION_STATE' });
    await expect(session.writeFile('../../escape', 'x')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(session.createAccountArchive('../../etc', 'blobs', 'store')).rejects.toMatchObject({
      code: 'INVALID_ACCOUNT_ID',
    });
    expect(fs.existsSync(path.join(target, 'escape'))).toBe(false);
  });

  it('removes a failed account and keeps only its error', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    await writeSampleSession(session);
    await session.removeAccount(ACCOUNT_ID);
    const manifest = await session.commit(
      commitInput({
        status: 'completed with errors',
        accounts: [{ ...commitInput().accounts[0]!, status: 'ERROR', error: 'disk full' }],
        errors: [{ zimbraId: ACCOUNT_ID, email: 'user1@example.com', message: 'disk full' }],
      }),
    );
    expect(Object.keys(manifest.files).sort()).toEqual(['ldap/directory.ldif', 'sys/localconfig.xml']);
    expect(manifest.accounts[0]).toMatchObject({ files: [], bytes: 0, status: 'ERROR' });
  });

  it("keeps a failed account's blobs archive when other accounts refer to blobs in it", async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    await writeSampleSession(session);
    const unfinished = await session.createMailboxSqlStream('2b4e28ba-2fa1-11d2-883f-0016d3cca427');
    unfinished.write('partial');
    await session.removeAccount(ACCOUNT_ID, { keepBlobs: true });
    await session.removeAccount('2b4e28ba-2fa1-11d2-883f-0016d3cca427'); // stops its open stream
    const manifest = await session.commit(
      commitInput({
        status: 'completed with errors',
        accounts: [{ ...commitInput().accounts[0]!, status: 'ERROR', error: 'rows failed' }],
        errors: [{ zimbraId: ACCOUNT_ID, email: 'user1@example.com', message: 'rows failed' }],
      }),
    );
    const dir = accountPaths(ACCOUNT_ID).dir;
    expect(Object.keys(manifest.files).sort()).toEqual([
      `${dir}/blobs.zip`,
      'ldap/directory.ldif',
      'sys/localconfig.xml',
    ]);
  });

  it('discards a session: tmp/<label> is gone and nothing is listed', async () => {
    const session = await SessionWriter.create(target, { type: 'incremental', lock });
    await writeSampleSession(session);
    const open = await session.createMailboxSqlStream('2b4e28ba-2fa1-11d2-883f-0016d3cca427');
    open.write('partial');
    await session.discard('out of disk');
    expect(fs.existsSync(session.dir)).toBe(false);
    expect(await listSessions(target)).toEqual([]);
    await expect(session.commit(commitInput())).rejects.toMatchObject({ code: 'SESSION_STATE' });
  });

  it('commits an aborted session as aborted', async () => {
    const session = await SessionWriter.create(target, { type: 'full', lock });
    await session.writeFile('sys/localconfig.xml', '<localconfig/>\n');
    const { status: _status, ...input } = commitInput({
      accounts: [{ ...commitInput().accounts[0]!, status: 'NOTSTARTED', maintenance: null }],
    });
    const manifest = await session.abort(input);
    expect(manifest.status).toBe('aborted');
    expect((await completeSessions(target)).map((s) => s.manifest.status)).toEqual(['aborted']);
  });
});

describe('crashes', () => {
  it(
    'never lists a killed backup as complete, and its stale lock is taken over',
    { timeout: 20_000 },
    async () => {
      await lock.release();
      const backup = spawn(process.execPath, ['--import', 'tsx', child, target], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [data] = (await once(backup.stdout, 'data')) as [Buffer];
      const label = data.toString().trim();
      expect(await listSessions(target)).toMatchObject([{ label, state: 'in progress' }]);
      backup.kill('SIGKILL');
      await once(backup, 'exit');

      expect(await listSessions(target)).toMatchObject([{ label, state: 'abandoned' }]);
      expect(await completeSessions(target)).toEqual([]);
      lock = await acquireLock(target, { operation: 'full backup' });
      expect(lock.info.pid).toBe(process.pid);
      expect(await listSessions(target)).toMatchObject([{ label, state: 'abandoned' }]);
    },
  );

  it('does not trust a session directory without a valid manifest, wherever it is', async () => {
    // Killed after manifest.json was written, before tmp/<label> moved: still not in sessions/.
    const inTmp = path.join(target, 'tmp', 'full-20210712.155951.123');
    fs.mkdirSync(inTmp, { recursive: true });
    fs.writeFileSync(path.join(inTmp, 'manifest.json'), JSON.stringify(validManifest()));
    // Copied into sessions/ by hand without a manifest, or with a damaged one.
    const noManifest = path.join(target, 'sessions', 'full-20210713.000000.000');
    const damaged = path.join(target, 'sessions', 'full-20210714.000000.000');
    fs.mkdirSync(noManifest, { recursive: true });
    fs.mkdirSync(damaged, { recursive: true });
    fs.writeFileSync(path.join(damaged, 'manifest.json'), JSON.stringify(validManifest()).slice(0, 100));
    expect((await listSessions(target)).map((s) => [s.label, s.state])).toEqual([
      ['full-20210712.155951.123', 'abandoned'],
      ['full-20210713.000000.000', 'invalid'],
      ['full-20210714.000000.000', 'invalid'],
    ]);
    expect(validateManifest(validManifest()).label).toBe('full-20210712.155951.123');
  });
});
