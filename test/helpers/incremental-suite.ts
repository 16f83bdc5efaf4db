import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../src-main/engine/transport';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { runIncrementalBackup } from '../../src-main/engine/backup/incremental-backup';
import { parseArchiveFileName } from '../../src-main/engine/redolog/archive-names';
import { readRedoLog } from '../../src-main/engine/redolog/reader';
import { txnKey } from '../../src-main/engine/redolog/ops';
import { formatLocalconfig, parseLocalconfig } from '../../src-main/engine/server/localconfig';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { ldapClient, withLab } from './lab-fixture';

/**
 * Issue 4 on the lab: a full backup, then activity with rollovers and incrementals. The test
 * keeps its own copy of every log the server archives (the truth) and checks the target's
 * redologs/ against it: every log since the full, byte for byte, once, in sequence.
 */
/**
 * Low so the test runs fast, but above what activity plus an incremental takes on a loaded CI
 * machine: at 3 s, logs rolled over 3 s before the incremental were already past it there.
 */
const KEEP_SEC = 10;

export function incrementalSuite(
  name: string,
  connect: (server: LabServerInfo) => Promise<Transport>,
  local: boolean,
): void {
  let lab: Lab;
  let server: LabServerInfo;
  let sim: MailboxSimulator;
  let access: ServerAccess;
  let ldap: Client;
  let target: string;
  let truth: string;
  let archive: string;
  let fullStart: number;

  const seqOf = (name: string) => parseArchiveFileName(name)!.seq;
  const logsIn = (dir: string) =>
    fs
      .readdirSync(dir)
      .filter((n) => parseArchiveFileName(n))
      .sort((a, b) => seqOf(a) - seqOf(b));

  /** Copies every archived log the server has now into the truth directory. */
  function collectTruth(): void {
    for (const name of logsIn(archive))
      if (!fs.existsSync(path.join(truth, name)))
        fs.copyFileSync(path.join(archive, name), path.join(truth, name));
  }

  /** Activity, each batch of operations ending in a rollover; returns the logs archived. */
  async function activity(operations: number, rollovers: number): Promise<string[]> {
    const before = new Set(logsIn(archive));
    for (let i = 0; i < rollovers; i++) {
      await sim.run({ operations });
      await sim.redo.rollover();
      collectTruth();
    }
    return logsIn(archive).filter((n) => !before.has(n));
  }

  const incremental = () => runIncrementalBackup(access, { target, accounts: 'all', engineVersion: 'test' });

  beforeAll(async () => {
    lab = await withLab({ servers: 1 });
    server = lab.info.servers[0]!;
    archive = path.join(server.zimbraHome, 'redolog', 'archive');
    const lcFile = path.join(server.zimbraHome, 'conf', 'localconfig.xml');
    const lc = new Map(parseLocalconfig(fs.readFileSync(lcFile, 'utf8')));
    lc.set('backup_archived_redolog_keep_time', String(KEEP_SEC));
    fs.writeFileSync(lcFile, formatLocalconfig(lc));
    sim = await MailboxSimulator.open(server, { seed: 'incremental' });
    await sim.provision(['ann', 'ben', 'cat']);
    await sim.populate(5);
    access = await openServerAccess(await connect(server), { zimbraHome: server.zimbraHome, local });
    ldap = await ldapClient(server);
    target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-incr-'));
    truth = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-incr-truth-'));
    collectTruth();
    const full = await runFullBackup(access, {
      target,
      accounts: 'all',
      zip: 'store',
      blobs: true,
      index: true,
      engineVersion: 'test',
    });
    fullStart = full.redo.seq!.min;
  });

  afterAll(async () => {
    await sim?.close().catch(() => undefined);
    await access?.close();
    await ldap?.unbind().catch(() => undefined);
    await lab?.stop();
    for (const dir of [target, truth]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe(`incremental backups and the redo log archive, over ${name}`, () => {
    it('copies every log since the full once, in sequence, and deletes server logs only past the keep time', async () => {
      const first = await activity(40, 2);
      const one = await incremental();
      expect(one.manifest.errors).toEqual([]);
      expect(one.manifest.status).toBe('completed');
      expect(one.manifest.redoLogs!.map((l) => l.name)).toEqual(
        logsIn(truth).filter((n) => seqOf(n) >= fullStart),
      );
      // Just rolled over: younger than the keep time, so copied but still on the server.
      expect(one.pruned.deleted).toEqual([]);
      expect(one.pruned.kept).toEqual(expect.arrayContaining(first));
      expect(logsIn(archive)).toEqual(expect.arrayContaining(first));
      expect(one.needFull).toEqual([]);

      await new Promise((resolve) => setTimeout(resolve, (KEEP_SEC + 1) * 1000));
      const second = await activity(40, 2);
      const two = await incremental();
      expect(two.manifest.errors).toEqual([]);
      expect(two.manifest.redoLogs!.map((l) => l.name)).toEqual(second);
      expect(two.pruned.deleted).toEqual(expect.arrayContaining(first));
      expect(two.pruned.kept).toEqual(expect.arrayContaining(second));
      expect(logsIn(archive).filter((n) => first.includes(n))).toEqual([]);
      expect(two.manifest.redo.seq).toEqual({ min: seqOf(second[0]!), max: seqOf(second.at(-1)!) });
      expect(two.manifest.redo.timeMs!.min).toBeLessThanOrEqual(two.manifest.redo.timeMs!.max);

      // The union: every log since the full, contiguous, byte for byte the server's, each once.
      const held = logsIn(path.join(target, 'redologs'));
      const expected = logsIn(truth).filter((n) => seqOf(n) >= fullStart);
      expect(held).toEqual(expected);
      expect(held.map(seqOf)).toEqual(held.map((_, i) => seqOf(held[0]!) + i));
      expect(seqOf(held[0]!)).toBeLessThanOrEqual(fullStart);
      const commits = new Set<string>();
      let ops = 0;
      for (const name of held) {
        expect(
          fs
            .readFileSync(path.join(target, 'redologs', name))
            .equals(fs.readFileSync(path.join(truth, name))),
          name,
        ).toBe(true);
        for await (const event of readRedoLog(path.join(target, 'redologs', name))) {
          expect(event.kind === 'damage' || event.kind === 'torn-tail', name).toBe(false);
          if (event.kind !== 'op') continue;
          ops++;
          if (event.op.op === 'CommitTxn') {
            const key = txnKey(event.op.header.txnId);
            expect(commits.has(key), `transaction ${key} committed twice`).toBe(false);
            commits.add(key);
          }
        }
      }
      expect(commits.size).toBeGreaterThan(100);
      expect(ops).toBeGreaterThan(commits.size);
    });

    it('reports a log missing between two incrementals as a gap with its sequence numbers', async () => {
      const logs = await activity(20, 3);
      const missing = logs[1]!;
      fs.rmSync(path.join(archive, missing));
      const three = await incremental();
      expect(three.manifest.status).toBe('completed with errors');
      expect(three.manifest.errors.map((e) => e.message)).toEqual([
        expect.stringContaining(`redo log gap: sequence ${seqOf(missing)} is missing`),
      ]);
      expect(three.manifest.redoLogs!.map((l) => l.name)).toEqual([logs[0], logs[2]]);
    });

    it('warns when the server deletes its logs at rollover, and takes a full backup of an account that has none', async () => {
      const dn = `cn=${server.hostname},cn=servers,cn=zimbra`;
      await ldap.modify(
        dn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'zimbraRedoLogDeleteOnRollover', values: ['TRUE'] }),
        }),
      );
      const [newcomer] = await sim.provision(['dan']);
      try {
        const four = await incremental();
        expect(four.manifest.warnings).toEqual([
          expect.stringContaining('zimbraRedoLogDeleteOnRollover is TRUE'),
        ]);
        expect(four.needFull.map((a) => a.email)).toEqual([newcomer!.email]);
      } finally {
        await ldap.modify(
          dn,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'zimbraRedoLogDeleteOnRollover', values: ['FALSE'] }),
          }),
        );
      }
    });
  });
}
