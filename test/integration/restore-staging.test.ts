import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests } from '../../src-main/engine/digest/mailbox-digest';
import { runRestore } from '../../src-main/engine/restore/run-restore';
import { mailboxDir, type Volume } from '../../src-main/engine/server/volumes';
import { accountPaths, sessionDir, targetPaths } from '../../src-main/engine/target/layout';
import { ZipReader } from '../../src-main/engine/target/zip-reader';
import { accountStatus } from '../../src-main/lab/simulator/accounts';
import { startRestoreLab, type RestoreLab } from '../helpers/restore-lab';

/**
 * A restore unpacks a mailbox's files into staging folders beside its mailbox folders while
 * MariaDB loads its rows, and puts them in place only once the rows are committed. Checked by
 * effect (digests of rows, blobs and index, and the folders on the volumes): a load that fails
 * leaves rows and files as they were; files that fail to unpack roll the rows back; what a killed
 * run staged is removed by the next run, by name for the same mailbox and by the run's record
 * for a -ca copy (whose mailbox id is new on each run), and nothing else is.
 */
const ROOT = path.resolve(__dirname, '../..');
let r: RestoreLab;
let volumes: Volume[];

const full = (email: string) => r.atFull.get(email)!;

/** Every folder named like a staging folder on the lab's volumes (<volume>/<group>/<name>). */
function stagingFolders(): string[] {
  const found: string[] = [];
  for (const volume of volumes) {
    if (!fs.existsSync(volume.path)) continue;
    for (const group of fs.readdirSync(volume.path))
      for (const name of fs.readdirSync(path.join(volume.path, group)).filter((n) => n.includes('mailvault')))
        found.push(path.join(volume.path, group, name));
  }
  return found.sort();
}

function cliKilledAt(step: string, args: string[]): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx/esm', path.join(ROOT, 'src-main/cli/main.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, MAILVAULT_FAILPOINT: `restore-step:${step}` },
        stdio: 'ignore',
      },
    );
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

beforeAll(async () => {
  r = await startRestoreLab({
    seed: 'restore-staging',
    accounts: ['ann', 'ben'],
    messages: 8,
    operations: 60,
    instantsEvery: 1_000_000,
  });
  volumes = await r.volumes();
}, 600_000);

afterAll(async () => {
  await r?.stop();
});

describe('restore through staging folders', () => {
  it('a rows load that fails leaves the mailbox rows and files as they were, and no staging folder', async () => {
    const ann = r.emails[0]!;
    const before = await r.digest(ann);
    expect(before.digest, 'ann changed after the full').not.toBe(full(ann).digest);
    // The dump's last statement is refused by the server: the load fails after the files were staged.
    const sql = path.join(sessionDir(r.target, r.full.label), accountPaths(full(ann).accountId).mailboxSql);
    const original = fs.readFileSync(sql);
    fs.appendFileSync(sql, 'INSERT INTO `zimbra`.`no_such_table` (`id`) VALUES\n(1);\n');
    try {
      const result = await runRestore(r.access, { target: r.target, accounts: [ann], fullOnly: true });
      expect(result.status).toBe('err');
      expect(result.accounts[0]!.error).toMatch(/no_such_table/);
    } finally {
      fs.writeFileSync(sql, original);
    }
    expect(diffDigests(before, await r.digest(ann))).toEqual([]);
    expect(stagingFolders()).toEqual([]);
    expect(await accountStatus(r.ldap, ann)).toBe('active');
  });

  it('a blob that fails its CRC-32 while the rows load rolls the rows back: nothing changes', async () => {
    const ben = r.emails[1]!;
    const before = await r.digest(ben);
    expect(before.digest, 'ben changed after the full').not.toBe(full(ben).digest);
    const zip = path.join(sessionDir(r.target, r.full.label), accountPaths(full(ben).accountId).blobsZip);
    const original = fs.readFileSync(zip);
    // One byte of the last blob's data changed (the archive's central directory still says its old CRC).
    const reader = await ZipReader.open(zip);
    const last = reader.entries.filter((e) => !e.isDirectory && e.size > 0).at(-1)!;
    const data = await reader.readEntry(last.name);
    reader.close();
    const at = original.indexOf(data);
    expect(at).toBeGreaterThan(0);
    const damaged = Buffer.from(original);
    const flipped = at + Math.floor(data.length / 2);
    damaged.writeUInt8(damaged.readUInt8(flipped) ^ 0xff, flipped);
    fs.writeFileSync(zip, damaged);
    try {
      const result = await runRestore(r.access, { target: r.target, accounts: [ben], fullOnly: true });
      expect(result.status).toBe('err');
      expect(result.accounts[0]!.error).toContain(`${last.name}: CRC-32 is`);
    } finally {
      fs.writeFileSync(zip, original);
    }
    expect(diffDigests(before, await r.digest(ben))).toEqual([]);
    expect(stagingFolders()).toEqual([]);
  });

  it('a staging folder a killed run left for the same mailbox, with a file no backup holds, is removed first', async () => {
    const ann = r.emails[0]!;
    const id = full(ann).mailboxId;
    const leftovers = volumes.map((v) =>
      path.join(`${mailboxDir(v, id)}.mailvault-restore`, 'msg', '0', '77777-1.msg'),
    );
    for (const file of leftovers) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, 'left by a killed run');
    }
    const result = await runRestore(r.access, { target: r.target, accounts: [ann], fullOnly: true });
    expect(result.status, JSON.stringify(result.accounts)).toBe('ok');
    expect(diffDigests(full(ann), await r.digest(ann))).toEqual([]);
    expect(stagingFolders()).toEqual([]);
  });

  it('a -ca run killed once its rows were committed: the rerun removes what it staged, by its record, and nothing else', async () => {
    const ben = r.emails[1]!;
    const prefix = 'st_';
    const signal = await cliKilledAt('rows', [
      'zmrestore',
      ...['-a', ben, '-rf', '-ca', '-pre', prefix],
      ...['-s', 'local', '--zimbra-home', r.server.zimbraHome, '-t', r.target],
    ]);
    expect(signal).toBe('SIGKILL');
    const staged = stagingFolders();
    expect(staged.length).toBeGreaterThan(0);
    const tmp = targetPaths(r.target).tmp;
    const runDir = fs.readdirSync(tmp).find((d) => fs.existsSync(path.join(tmp, d, 'staging-folders.jsonl')));
    expect(runDir).toBeDefined();
    const record = path.join(tmp, runDir!, 'staging-folders.jsonl');
    // Lines the rerun must not act on: another server's, a folder not shaped as a staging
    // folder, and one off the volumes.
    const volume = volumes[0]!;
    const notStaging = path.join(volume.path, '0', 'keep.mailvault-restore');
    const offVolume = path.join(path.dirname(volume.path), '0', '5.mailvault-restore');
    const otherServers = path.join(volume.path, '0', '4242.mailvault-restore');
    for (const dir of [notStaging, offVolume, otherServers]) fs.mkdirSync(dir, { recursive: true });
    const otherLine = JSON.stringify({ server: 'other.example.com', dir: otherServers });
    fs.appendFileSync(
      record,
      [
        otherLine,
        JSON.stringify({ server: r.server.hostname, dir: notStaging }),
        JSON.stringify({ server: r.server.hostname, dir: offVolume }),
      ].join('\n') + '\n',
    );

    const rerun = await runRestore(r.access, {
      target: r.target,
      accounts: [ben],
      fullOnly: true,
      createAccount: { prefix },
    });
    expect(rerun.status, JSON.stringify(rerun.accounts)).toBe('ok');
    expect(rerun.accounts[0]!.restoredAs!.email).toBe(`${prefix}${ben}`);
    // The killed run's copy had another mailbox id than the rerun's: only the record named its folders.
    for (const dir of staged) expect(fs.existsSync(dir), dir).toBe(false);
    expect(stagingFolders()).toEqual([notStaging, otherServers].sort());
    expect(fs.existsSync(offVolume)).toBe(true);
    expect(fs.readFileSync(record, 'utf8')).toBe(`${otherLine}\n`);
    expect(await accountStatus(r.ldap, `${prefix}${ben}`)).toBe('active');
    for (const dir of [notStaging, offVolume, otherServers]) fs.rmSync(dir, { recursive: true });
    fs.rmSync(path.join(tmp, runDir!), { recursive: true });
  });
});
