import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { fileTreeDigest } from '../../src-main/engine/digest/file-tree';
import type { ServerAccess } from '../../src-main/engine/server/server-access';
import { failover } from '../../src-main/engine/standby/failover';
import { loadSet } from '../../src-main/engine/standby/load-set';
import { snapshotSets, type SnapshotEntry, type StandbyVolume } from '../../src-main/engine/standby/record';
import { takeSnapshot } from '../../src-main/engine/standby/snapshot';
import { StandbyDir } from '../../src-main/engine/standby/standby-dir';
import type { SshTransport } from '../../src-main/engine/transport';
import { run } from '../../src-main/lab/exec';
import { homePaths } from '../../src-main/lab/zimbra-home';
import { diffWithoutIndex } from '../helpers/restore-lab';
import { runCli } from '../unit/bad-input/cli-harness';
import {
  btrfsSubvolumeOver,
  btrfsUnavailable,
  openOverSsh,
  sshTo,
  startStandbyLab,
  type StandbyLab,
} from '../helpers/standby-lab';

/**
 * The standby with both ends remote: the primary and the standby each reached over SSH from
 * this process (a third machine, as a cron host would be), the primary's message store on a
 * btrfs subvolume (a loop file) so that its blobs are read from a storage snapshot, taken and
 * removed over SSH. Redo-log pruning and the sets' own blob trees are checked on the way.
 */
const BTRFS = btrfsUnavailable();
let s: StandbyLab;
let btrfs: { unmount(): Promise<void> } | null = null;
let primary: ServerAccess;
let standby: ServerAccess;
let store: string;

beforeAll(async () => {
  // Small redo logs: a few dozen ops roll several over, which pruning then has to remove.
  s = await startStandbyLab('standby-remote', ['dee', 'eve'], 6, { rolloverBytes: 16 * 1024 });
  store = homePaths(s.primaryInfo.zimbraHome).store;
  if (!BTRFS) btrfs = await btrfsSubvolumeOver(store, path.join(s.lab.info.dir, 'store-btrfs.img'));
  primary = await openOverSsh(s.primaryInfo);
  standby = await openOverSsh(s.standbyInfo);
});

afterAll(async () => {
  await primary?.close().catch(() => undefined);
  await standby?.close().catch(() => undefined);
  // Unmounted before the lab goes: its directory is removed with the mount's files under it.
  await btrfs?.unmount().catch((e: unknown) => console.error('btrfs unmount:', e));
  await s?.stop();
});

/** The writer's op i: every fifth deletes f<(i/5) % 40>, the others write "i" to f<i % 40> (by rename: whole). */
function writerState(k: number): Record<string, number> {
  const files: Record<string, number> = {};
  for (let i = 1; i <= k; i++)
    if (i % 5 === 0) delete files[`f${(i / 5) % 40}`];
    else files[`f${i % 40}`] = i;
  return files;
}

function readCounters(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    if (name.startsWith('f')) {
      let text = '';
      try {
        text = fs.readFileSync(path.join(dir, name), 'utf8').trim();
      } catch (error) {
        // Deleted by the writer between the listing and the read.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (text) out[name] = Number(text);
    }
  return out;
}

/** Same names and counters, in any order. */
const sameFiles = (a: Record<string, number>, b: Record<string, number>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

const maxOf = (files: Record<string, number>) => Math.max(0, ...Object.values(files));

describe('storage snapshots', () => {
  it.skipIf(BTRFS)(
    `btrfs over SSH: the blobs copied equal the volume at the snapshot's instant while writes go on during the copy${BTRFS ? ` (skipped: ${BTRFS})` : ''}`,
    async () => {
      const writes = path.join(store, 'w');
      const stop = path.join(s.lab.info.dir, 'writer.stop');
      fs.mkdirSync(writes);
      // A writer on the primary, as fast as sh goes, for the whole snapshot.
      const writer = spawn('sh', [
        '-c',
        'i=0; while [ ! -e "$2" ]; do i=$((i+1)); if [ $((i % 5)) -eq 0 ]; then rm -f "$1/f$((i / 5 % 40))"; ' +
          'else printf "%s\\n" "$i" > "$1/.t" && mv -f "$1/.t" "$1/f$((i % 40))"; fi; done',
        'sh',
        writes,
        stop,
      ]);
      const exited = new Promise((resolve) => writer.on('exit', resolve));
      const ssh: SshTransport = await sshTo(s.standbyInfo);
      try {
        while (maxOf(readCounters(writes)) < 200) await sleep(20);
        // A snapshot left by a run that died: the next run of the same kind removes it.
        await run('btrfs', ['subvolume', 'snapshot', '-r', store, path.join(store, '.mailvault-blobs-died')]);
        const root = path.join(s.standbyInfo.zimbraHome, 'standby-btrfs');
        const liveDuringCopy: number[] = [];
        // Small batches: the copy takes a round trip per batch, the writer goes on meanwhile.
        const entry = await takeSnapshot(primary, new StandbyDir(ssh, root), 'blobs', {
          hooks: {
            batchBytes: 4096,
            onProgress: () => void liveDuringCopy.push(maxOf(readCounters(writes))),
          },
        });
        fs.writeFileSync(stop, '');
        await exited;
        expect(entry.complete).toBe(true);
        expect(entry.method).toBe('btrfs');
        expect(entry.volumes![0]).toMatchObject({ method: 'btrfs' });
        expect(entry.volumes![0]!.snapshotAt).toBeGreaterThanOrEqual(entry.takenAt);

        const mirror = path.join(root, 'blobs', String(entry.volumes![0]!.id));
        const copied = readCounters(path.join(mirror, 'w'));
        const last = maxOf(copied);
        // The copy is the writer's state after some op k: its last write, or the delete right after it.
        const candidates = [last, ...((last + 1) % 5 === 0 ? [last + 1] : [])];
        expect(
          candidates.some((k) => sameFiles(writerState(k), copied)),
          `copy ≠ state after op ${candidates.join(' or ')}`,
        ).toBe(true);
        // Writes went on while the copy ran: the live volume was past the snapshot's state then.
        expect(liveDuringCopy.length).toBeGreaterThan(5);
        expect(Math.max(...liveDuringCopy)).toBeGreaterThan(last);
        // …and went on from batch to batch, not in one burst.
        expect(new Set(liveDuringCopy.filter((n) => n > last)).size).toBeGreaterThan(2);
        // The rest of the store (the simulator is still) is in the mirror as it is on the primary.
        const notWriter = (tree: Record<string, string>) =>
          Object.fromEntries(
            Object.entries(tree).filter(([k]) => !k.startsWith('w/') && !k.startsWith('incoming/')),
          );
        expect(notWriter(await fileTreeDigest(mirror))).toEqual(notWriter(await fileTreeDigest(store)));
        // The snapshot is gone from the primary; the snapshot's own tree on the standby equals the mirror.
        expect(fs.readdirSync(store).filter((n) => n.startsWith('.mailvault-'))).toEqual([]);
        expect(
          await fileTreeDigest(path.join(root, 'frozen', entry.id, String(entry.volumes![0]!.id))),
        ).toEqual(await fileTreeDigest(mirror));
      } finally {
        fs.writeFileSync(stop, '');
        await exited;
        await ssh.close();
        fs.rmSync(writes, { recursive: true, force: true });
      }
    },
  );
});

describe('both ends remote', () => {
  it('snapshot sets over SSH, an older set loads exactly, pruning keeps one set, failover over SSH gives the primary', async () => {
    const dir = new StandbyDir(standby.transport, path.join(s.standbyInfo.zimbraHome, 'standby'));
    const url = (info: typeof s.primaryInfo) => `ssh://${info.ssh.user}@${info.ssh.host}:${info.ssh.port}`;
    const digests = async () => {
      const out = new Map<string, MailboxDigest>();
      for (const email of s.emails) out.set(email, await s.digestPrimary(email));
      return out;
    };
    const noIncoming = (tree: Record<string, string>) =>
      Object.fromEntries(Object.entries(tree).filter(([k]) => !k.startsWith('incoming/')));

    // Set A through the CLI, primary and standby both ssh:// (as from a cron host).
    const [p, b] = [s.primaryInfo, s.standbyInfo];
    const cli = await runCli([
      'standby',
      'snapshot',
      '--due',
      ...['-s', url(p), '-i', p.ssh.privateKeyPath, '--host-key', p.ssh.hostKeyFingerprint],
      ...['--zimbra-home', p.zimbraHome, '--standby', url(b), '--standby-identity', b.ssh.privateKeyPath],
      ...['--standby-host-key', b.ssh.hostKeyFingerprint, '--standby-zimbra-home', b.zimbraHome],
      '--json',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const setA = (JSON.parse(cli.stdout) as { snapshots: SnapshotEntry[] }).snapshots;
    expect(setA.map((e) => [e.volume, e.complete])).toEqual([
      ['mysql', true],
      ['blobs', true],
      ['index', true],
      ['redolog', true],
    ]);
    expect(setA.map((e) => e.method)).toEqual(['dump', BTRFS ? 'copy' : 'btrfs', 'copy', 'cut']);
    const storeAtA = noIncoming(await fileTreeDigest(store));
    // status over SSH says how each volume was taken.
    const status = await runCli([
      ...['standby', 'status', '-s', url(b), '-i', b.ssh.privateKeyPath],
      ...['--host-key', b.ssh.hostKeyFingerprint, '--zimbra-home', b.zimbraHome, '--json'],
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { methods: Record<string, string> }).methods).toEqual({
      mysql: 'dump',
      blobs: BTRFS ? 'copy' : 'btrfs',
      index: 'copy',
      redolog: 'cut',
    });

    // Mail flows; a newer blobs snapshot moves the mirror past set A.
    await s.sim.run({ operations: 60 });
    await takeSnapshot(primary, dir, 'blobs');
    expect(noIncoming(await fileTreeDigest(store))).not.toEqual(storeAtA);
    // Set A loads with its own blobs, not the mirror's newer ones.
    let records = await dir.readRecords();
    const a = snapshotSets(records).find((x) => x.mysql.id === setA[0]!.id)!;
    await loadSet(standby, dir, a, records);
    expect(noIncoming(await fileTreeDigest(homePaths(s.standbyInfo.zimbraHome).store))).toEqual(storeAtA);

    // Set B, keeping one set: A's dump, A's trees and the redo logs before B go.
    const take = (v: StandbyVolume) => takeSnapshot(primary, dir, v, { keepDumps: 1, redoGraceMs: 0 });
    const firstBefore = (await dir.readRecord('redolog'))!.logs![0]!.seq;
    const mysqlB = await take('mysql');
    const blobsB = await take('blobs');
    await take('index');
    const atIndexB = await digests();
    await take('redolog');
    records = await dir.readRecords();
    const held = records.redolog!.logs!;
    expect(held[0]!.seq).toBeGreaterThan(firstBefore);
    // What is left starts at or before B's time: the log holding B's first ops was kept.
    expect(held[0]!.lastOpTime ?? Infinity).toBeGreaterThanOrEqual(mysqlB.takenAt);
    const onDisk = fs.readdirSync(path.join(dir.root, 'redolog')).sort();
    expect(onDisk).toEqual(held.map((l) => `seq-${l.seq}.log`).sort());
    expect(fs.existsSync(path.join(dir.root, 'frozen', setA[1]!.id))).toBe(false);
    expect(fs.existsSync(path.join(dir.root, 'frozen', blobsB.id))).toBe(true);
    expect(fs.existsSync(path.join(dir.root, setA[0]!.dump!.file))).toBe(false);

    // More mail, one more redo-log snapshot, then the failover, over SSH.
    await s.sim.run({ operations: 30 });
    await take('redolog');
    const atRedo = await digests();
    const report = await failover(standby, dir, { failedAt: Date.now() });
    expect(report.set.mysql).toBe(mysqlB.id);
    expect(report.replay!.errors).toEqual([]);
    expect(report.replay!.applied).toBeGreaterThan(0);
    for (const email of s.emails) {
      const got = await s.digestStandby(email);
      expect(diffWithoutIndex(atRedo.get(email)!, got), email).toEqual([]);
      expect(got.index, email).toEqual(atIndexB.get(email)!.index);
    }
  });
});
