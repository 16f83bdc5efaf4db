import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { fileTreeDigest } from '../../src-main/engine/digest/file-tree';
import { decodeFileHeader } from '../../src-main/engine/redolog';
import { failover } from '../../src-main/engine/standby/failover';
import { runSchedule } from '../../src-main/engine/standby/schedule';
import { takeSnapshot } from '../../src-main/engine/standby/snapshot';
import { StandbyDir } from '../../src-main/engine/standby/standby-dir';
import { lastCompleteSnapshot, type StandbyVolume } from '../../src-main/engine/standby/record';
import { run } from '../../src-main/lab/exec';
import { Random } from '../../src-main/lab/simulator/random';
import { homePaths } from '../../src-main/lab/zimbra-home';
import { diffWithoutIndex } from '../helpers/restore-lab';
import { runCli } from '../unit/bad-input/cli-harness';
import {
  primaryCommits,
  startStandbyLab,
  withEveryMailboxLocked,
  type StandbyLab,
} from '../helpers/standby-lab';

/**
 * The seed's standby site at seconds for hours: the simulator plays mailboxd on the primary;
 * mysql, blobs, index and redo-log snapshots follow one another seconds apart, redo-log ones
 * every 1.2 s after; the primary is killed at a seeded random moment; failover on the standby
 * must give every mailbox the primary's digest as of the last redo-log snapshot.
 */
let s: StandbyLab;
const MAILVAULT = path.resolve(__dirname, '../../bin/mailvault');

beforeAll(async () => {
  s = await startStandbyLab('standby', ['ann', 'bob', 'cyd'], 8);
});

afterAll(async () => {
  await s?.stop();
});

describe('transfer to the standby', () => {
  it('resumes a dump, a blob copy and a redo-log copy cut by a dropped SSH link, and the copies verify', async () => {
    const root = path.join(s.standbyInfo.zimbraHome, 'standby-ssh');
    const dropAfter = async (volume: StandbyVolume, n: number, size: number) => {
      const ssh = await s.sshToStandby();
      let progress = 0;
      // The link goes down while the next piece is on its way.
      const attempt = takeSnapshot(s.primary, new StandbyDir(ssh, root), volume, {
        hooks: {
          chunkBytes: size,
          batchBytes: size,
          onProgress: () => {
            if (++progress === n) setImmediate(() => void ssh.close());
          },
        },
      });
      await expect(attempt).rejects.toThrow();
      expect(progress).toBeGreaterThanOrEqual(n);
    };
    const resume = async (volume: StandbyVolume) => {
      await sleep(1100);
      const ssh = await s.sshToStandby();
      try {
        const dir = new StandbyDir(ssh, root);
        const before = (await dir.readRecord(volume))!.snapshots.at(-1)!;
        expect(before.complete).toBe(false);
        return await takeSnapshot(s.primary, dir, volume, { staleLockMs: 1000 });
      } finally {
        await ssh.close();
      }
    };

    await dropAfter('mysql', 3, 16 * 1024);
    const mysql = await resume('mysql');
    expect(mysql.complete).toBe(true);
    expect(mysql.attempts).toBe(2);
    // The second attempt went on from what the first had sent.
    expect(mysql.resumedBytes).toBeGreaterThanOrEqual(3 * 16 * 1024);
    // This attempt's bytes and those the standby already had make the dump, once.
    expect(mysql.resumedBytes + mysql.bytes).toBe(mysql.dump!.size);
    const copy = fs.readFileSync(path.join(root, mysql.dump!.file));
    expect(crypto.createHash('sha256').update(copy).digest('hex')).toBe(mysql.dump!.sha256);
    expect(copy.toString('utf8').trimEnd()).toMatch(/-- Dump completed on .*$/);
    // The staged dump left the primary once the standby's copy verified.
    expect(fs.existsSync(mysql.dump!.primaryFile)).toBe(false);

    await dropAfter('blobs', 2, 32 * 1024);
    const blobs = await resume('blobs');
    expect(blobs.complete).toBe(true);
    const store = homePaths(s.primaryInfo.zimbraHome).store;
    const primaryFiles = await fileTreeDigest(store);
    for (const name of Object.keys(primaryFiles)) if (name.startsWith('incoming/')) delete primaryFiles[name];
    const mirror = await fileTreeDigest(path.join(root, 'blobs', '1'));
    expect(mirror).toEqual(primaryFiles);
    // Resumed: the files of the first attempt were not sent again (the record counts what it saw).
    const sizes = Object.keys(primaryFiles).reduce((n, f) => n + fs.statSync(path.join(store, f)).size, 0);
    expect(blobs.bytes).toBeGreaterThan(0);
    expect(blobs.bytes).toBeLessThan(sizes);
    expect(blobs.attempts).toBe(2);

    await dropAfter('redolog', 2, 16 * 1024);
    const redo = await resume('redolog');
    expect(redo.complete).toBe(true);
    const held = (await new StandbyDir(s.standby.transport, root).readRecord('redolog'))!.logs!;
    const p = homePaths(s.primaryInfo.zimbraHome);
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    expect(held.map((l) => l.archiveName ?? 'redo.log')).toEqual([
      ...fs.readdirSync(p.redoArchive).sort(),
      'redo.log',
    ]);
    for (const log of held) {
      const copy = fs.readFileSync(path.join(root, 'redolog', `seq-${log.seq}.log`));
      expect(copy.length, `seq ${log.seq}`).toBe(log.size);
      if (log.closed)
        expect(sha(copy), log.archiveName!).toBe(
          sha(fs.readFileSync(path.join(p.redoArchive, log.archiveName!))),
        );
      else {
        // The live log: its bytes up to the cut, and a header that says so.
        const live = fs.readFileSync(p.redoLog);
        expect(sha(copy.subarray(512)), 'redo.log').toBe(sha(live.subarray(512, log.size)));
        expect(decodeFileHeader(copy).fileSize).toBe(log.size);
      }
    }
  });
});

describe('mailvault standby', () => {
  it('snapshot --due takes the four volumes in order, status shows the set, failover brings the standby to the primary', async () => {
    const root = path.join(s.standbyInfo.zimbraHome, 'standby-cli');
    const where = ['--standby-dir', root];
    // In this process (the same main() as bin/mailvault, without a tsx start per command); the
    // last call below goes through bin/mailvault.
    const cli = async (args: string[]) => {
      const r = await runCli([...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const primary = ['-s', 'local', '--zimbra-home', s.primaryInfo.zimbraHome];
    const standby = ['-s', 'local', '--zimbra-home', s.standbyInfo.zimbraHome];
    const taken = (await cli([
      'standby',
      'snapshot',
      '--due',
      ...primary,
      '--standby',
      'local',
      '--standby-zimbra-home',
      s.standbyInfo.zimbraHome,
      ...where,
    ])) as {
      snapshots: Array<{ volume: string; complete: boolean; takenAt: number }>;
    };
    expect(taken.snapshots.map((e) => [e.volume, e.complete])).toEqual([
      ['mysql', true],
      ['blobs', true],
      ['index', true],
      ['redolog', true],
    ]);
    const status = (await cli(['standby', 'status', ...standby, ...where])) as {
      sets: Array<{ complete: boolean; mysql: number }>;
      failoverFrom: number;
      volumes: Record<string, { lagMs: number }>;
    };
    expect(status.sets).toHaveLength(1);
    expect(status.sets[0]!.complete).toBe(true);
    expect(status.failoverFrom).toBe(taken.snapshots[0]!.takenAt);
    for (const v of ['mysql', 'blobs', 'index', 'redolog'])
      expect(status.volumes[v]!.lagMs).toBeGreaterThan(0);
    // The same record read over SSH (the standby reached as a remote server).
    const ssh = s.standbyInfo.ssh;
    const remote = (await cli([
      'standby',
      'status',
      '-s',
      `ssh://${ssh.user}@${ssh.host}:${ssh.port}`,
      '-i',
      ssh.privateKeyPath,
      '--host-key',
      ssh.hostKeyFingerprint,
      '--zimbra-home',
      s.standbyInfo.zimbraHome,
      ...where,
    ])) as typeof status;
    expect(remote.sets).toEqual(status.sets);
    expect(remote.failoverFrom).toBe(status.failoverFrom);
    // Nothing is due again at once.
    const again = (await cli([
      'standby',
      'snapshot',
      '--due',
      ...primary,
      '--standby',
      'local',
      '--standby-zimbra-home',
      s.standbyInfo.zimbraHome,
      ...where,
    ])) as { snapshots: unknown[] };
    expect(again.snapshots).toEqual([]);
    const report = (await cli(['standby', 'failover', ...standby, ...where])) as unknown as {
      replay: { errors: unknown[] };
    };
    expect(report.replay.errors).toEqual([]);
    // The primary was still: the standby now holds what it holds (index included: nothing changed it).
    for (const email of s.emails)
      expect(await s.digestStandby(email), email).toEqual(await s.digestPrimary(email));
    // A failover time after the set's is refused before anything is touched.
    const late = new Date(Date.now() + 3_600_000);
    const lateText = `${late.getFullYear()}/${String(late.getMonth() + 1).padStart(2, '0')}/${String(late.getDate()).padStart(2, '0')} ${late.toTimeString().slice(0, 8)}`;
    await expect(
      run(MAILVAULT, ['standby', 'failover', ...standby, ...where, '--at', lateText]),
    ).rejects.toThrow(/exited 2: mailvault: --at .* is after the set's oldest snapshot/);
  });
});

describe('failover after the primary dies', () => {
  const kills = new Random('standby-kills');
  // Index digests by index snapshot, kept across runs: a run may fail over with an earlier run's.
  const atIndex = new Map<string, Map<string, Record<string, string>>>();
  // Whether a run failed over while a newer index snapshot than its set's existed (the mirror's).
  let newerIndexSeen = false;
  afterAll(() =>
    console.log(
      `standby: a failover loaded its set's index while a newer one was mirrored: ${newerIndexSeen}`,
    ),
  );
  const runs = [1, 2, 3].map((n) => ({ n, killAfterMs: kills.int(500, 4000), realKill: n === 3 }));

  for (const { n, killAfterMs, realKill } of runs)
    it(`run ${n}: killed ${killAfterMs} ms after the second redo-log snapshot${realKill ? ' (mariadbd and sshd SIGKILLed)' : ''}`, async () => {
      const atRedo = new Map<number, Map<string, MailboxDigest>>();
      const taken: Array<{ volume: StandbyVolume; at: number }> = [];
      let lastRedo = 0;
      const errors: unknown[] = [];
      const simStop = new AbortController();
      const scheduleStop = new AbortController();
      const activity = s.sim
        .run({ operations: 1_000_000, perSecond: 40, signal: simStop.signal })
        .catch((e: unknown) => e);
      const schedule = runSchedule({
        intervals: { mysql: 15_000, blobs: 15_000, index: 15_000, redolog: 1000 },
        tickMs: 150,
        signal: scheduleStop.signal,
        records: () => s.dir.readRecords(),
        onError: (_v, e) => errors.push(e),
        take: async (volume) => {
          await take(volume);
        },
      });
      async function take(volume: StandbyVolume) {
        {
          // mysql and blobs are copied while mail flows; the index and redo-log copies are made
          // with every mailbox still, standing for a storage snapshot's instant, so that the
          // primary's state they stand for can be recorded.
          if (volume === 'mysql' || volume === 'blobs') {
            const e = await takeSnapshot(s.primary, s.dir, volume);
            taken.push({ volume, at: e.takenAt });
            return;
          }
          await withEveryMailboxLocked(s.sim, async () => {
            const e = await takeSnapshot(s.primary, s.dir, volume);
            taken.push({ volume, at: e.takenAt });
            const digests = new Map<string, MailboxDigest>();
            for (const email of s.emails) digests.set(email, await s.digestPrimary(email));
            if (volume === 'redolog') {
              atRedo.set(e.takenAt, digests);
              lastRedo = e.takenAt;
            } else {
              atIndex.set(e.id, new Map([...digests].map(([k, d]) => [k, d.index])));
            }
          });
        }
      }
      // Seconds stand for hours: how long a snapshot takes depends on the machine's load, so the
      // kill is timed from the set's first redo-log snapshot.
      const redoCount = () => taken.filter((t) => t.volume === 'redolog').length;
      while (redoCount() < 2 && errors.length === 0) await sleep(50);
      await sleep(killAfterMs);
      scheduleStop.abort();
      await schedule;
      // Mail goes on after the last redo-log snapshot: that is what the failover loses.
      await sleep(400);
      let failedAt: number;
      if (realKill) {
        s.killPrimary();
        failedAt = Date.now();
        simStop.abort();
        await activity;
      } else {
        simStop.abort();
        await activity;
        failedAt = Date.now();
      }
      expect(errors).toEqual([]);
      const report = await failover(s.standby, s.dir, { failedAt });
      // The seed's order within the set used: mysql, blob, index, redolog seconds apart, then
      // more redo-log snapshots; T is the oldest of them.
      const records = await s.dir.readRecords();
      const time = (v: StandbyVolume, id: string) => records[v]!.snapshots.find((e) => e.id === id)!.takenAt;
      const set = [
        time('mysql', report.set.mysql),
        time('blobs', report.set.blobs),
        time('index', report.set.index),
      ];
      expect([...set].sort((a, b) => a - b)).toEqual(set);
      expect(report.set.fromTime).toBe(set[0]);
      expect(
        records.redolog!.snapshots.filter((e) => e.complete && e.takenAt > set[2]!).length,
      ).toBeGreaterThanOrEqual(1);
      expect(time('redolog', report.set.redolog)).toBe(lastRedo);
      expect(report.replay!.errors).toEqual([]);
      expect(report.replay!.damage).toEqual([]);
      for (const email of s.emails) {
        const standby = await s.digestStandby(email);
        expect(diffWithoutIndex(atRedo.get(lastRedo)!.get(email)!, standby), email).toEqual([]);
        // Replay does not write index files (docs/standby.md): the index is the set's index
        // snapshot's (its own tree), even when a later, incomplete set's index snapshot exists.
        expect(standby.index, email).toEqual(atIndex.get(report.set.index)!.get(email));
      }
      if (lastCompleteSnapshot(records.index)!.id !== report.set.index) newerIndexSeen = true;
      // The reported window is the observed one: from the last redo-log snapshot to the failure.
      expect(report.dataLoss).toMatchObject({ from: lastRedo, to: failedAt, toIsFailureTime: true });
      expect(report.dataLoss.lastCommitInLogs!).toBeLessThanOrEqual(lastRedo);
      const lost = (await primaryCommits(s.primaryInfo)).filter((c) => c.committedAt > lastRedo);
      expect(lost.length).toBeGreaterThan(0);
      for (const c of lost) expect(c.committedAt).toBeLessThanOrEqual(failedAt + 1000);
      // What was replayed, per mailbox, adds up to what the engine applied.
      const replayed = report.mailboxes.reduce((n, m) => n + m.replayed, 0);
      expect(replayed).toBe(report.replay!.applied);
      expect(report.mailboxes.every((m) => m.email.length > 0)).toBe(true);

      if (n === 1) {
        // Idempotence: the same set replayed from two minutes earlier gives the same mailboxes.
        const again = await failover(s.standby, s.dir, { failedAt, fromTime: report.set.fromTime - 120_000 });
        expect(again.replay!.applied).toBe(report.replay!.applied);
        expect(again.replay!.alreadyPresent).toBeGreaterThan(report.replay!.alreadyPresent);
        for (const email of s.emails)
          expect(
            diffWithoutIndex(atRedo.get(lastRedo)!.get(email)!, await s.digestStandby(email)),
            email,
          ).toEqual([]);
        // And zmplayredo --fromTime on the failed-over standby finds everything present.
        const from = new Date(report.replayFrom - 60_000);
        const zimbraTime = `${from.getFullYear()}/${String(from.getMonth() + 1).padStart(2, '0')}/${String(from.getDate()).padStart(2, '0')} ${from.toTimeString().slice(0, 8)}:${String(from.getMilliseconds()).padStart(3, '0')}`;
        const cli = await run(MAILVAULT, [
          'zmplayredo',
          '--fromTime',
          zimbraTime,
          '-s',
          'local',
          '--zimbra-home',
          s.standbyInfo.zimbraHome,
          '--json',
        ]);
        const played = JSON.parse(cli.stdout) as {
          applied: number;
          alreadyPresent: number;
          errors: unknown[];
        };
        expect(played.applied).toBe(0);
        expect(played.alreadyPresent).toBeGreaterThan(0);
        for (const email of s.emails)
          expect(
            diffWithoutIndex(atRedo.get(lastRedo)!.get(email)!, await s.digestStandby(email)),
            email,
          ).toEqual([]);
      }
    });
});
