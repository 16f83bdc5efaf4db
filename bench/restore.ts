/**
 * Restore and replay speed on a lab server, each against a baseline measured in the same run:
 *  1. the restore of one mailbox from its full only (-rf) against that mailbox's own full backup
 *     time (target ≤ 1.5×), both in-process over the local server access;
 *  2. redo replay throughput in committed ops applied per second, 8 mailboxes in parallel
 *     (target ≥ 5,000 ops/s): a full of 8 accounts, then activity (deliveries with bodies inline,
 *     moves, flags, tags, deletes, folders), then those accounts restored from the full and the
 *     redo replayed onto them.
 *
 *   node --import tsx bench/restore.ts [--messages 2000] [--ops 6000] [--settle 3] [--rounds 1] [--no-replay] [--profile DIR]
 *     [--dir DIR | --journaled-ext4 [MiB]]
 *
 * Where the lab lives (its MariaDB, zimbra_home with the blob files, the backup target and the
 * copied redo logs): by default a fresh folder in the system's temp directory, as before. --dir DIR
 * makes that folder in DIR instead. --journaled-ext4 [MiB] (root only; 8192 MiB, sparse, when no
 * size is given) makes an ext4 image WITH a journal in the temp directory, loop-mounts it, runs the
 * lab there, and unmounts and removes it at the end. Every run prints the filesystem the lab is on
 * (type, device, journal or not): on ext4 without a journal, file creation after a restore's
 * deletes costs 10x more (bench/lab-filesystem.ts).
 * --alternate: even rounds write the replay's blob files from the main thread through libuv's
 * pool instead of the blob thread (replay/blob-thread.ts): the two compared in one process, on
 * the same data, a round apart (file creation costs vary by 10x on this shared disk: same-file-link.ts).
 * --profile DIR: a V8 CPU profile of the one-mailbox restore (DIR/restore.cpuprofile) and of each
 * replay round alone (DIR/replay-<round>.cpuprofile, for
 * Chrome's DevTools or speedscope), rather than node's --cpu-prof, whose one profile of the whole
 * process is mostly the lab being populated.
 * --no-replay: stop after part 1 (the one-mailbox restore), for iterating on the restore alone.
 * --settle: seconds of pause between the restore of the eight and their replay, with MariaDB's CPU
 * over the pause reported (the background work, mostly InnoDB purging the rows the restore
 * deleted, that would otherwise be counted as replay's). --rounds: the restore and replay are
 * done again that many times on the same data (run-to-run noise on a shared machine).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { runFullBackup } from '../src-main/engine/backup/full-backup';
import { selectLogs, serverRedoLogs } from '../src-main/engine/replay/log-files';
import { playRedo } from '../src-main/engine/replay/player';
import { serverReplayBase } from '../src-main/engine/replay/server-replay';
import { runRestore } from '../src-main/engine/restore/run-restore';
import { openServerAccess } from '../src-main/engine/server/server-access';
import { mailboxGroupDb } from '../src-main/engine/server/volumes';
import { LocalTransport } from '../src-main/engine/transport';
import { startLab } from '../src-main/lab/lab';
import { MailboxSimulator } from '../src-main/lab/simulator/simulator';
import { describeFilesystem, filesystemOf, mountJournaledExt4, type MountedExt4 } from './lab-filesystem';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const messages = option('messages', 2000);
const ops = option('ops', 6000);
const settleSeconds = option('settle', 3);
const rounds = option('rounds', 1);
const withReplay = !args.includes('--no-replay');
const alternate = args.includes('--alternate');
const profileAt = args.indexOf('--profile');
const profileDir = profileAt >= 0 ? args[profileAt + 1]! : null;
const dirAt = args.indexOf('--dir');
const baseDir = dirAt >= 0 ? args[dirAt + 1] : undefined;
const ext4At = args.indexOf('--journaled-ext4');
const ext4Arg = ext4At >= 0 ? args[ext4At + 1] : undefined;
const ext4Mib = ext4At < 0 ? null : ext4Arg !== undefined && /^\d+$/.test(ext4Arg) ? Number(ext4Arg) : 8192;

const step = (what: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${what}`);

async function main(): Promise<void> {
  if (dirAt >= 0 && (!baseDir || baseDir.startsWith('--'))) fail('--dir needs a directory');
  if (baseDir !== undefined && ext4Mib !== null) fail('--dir and --journaled-ext4 go one at a time');
  let ext4: MountedExt4 | null = null;
  if (ext4Mib !== null) {
    try {
      ext4 = mountJournaledExt4(ext4Mib);
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
    step(`journaled ext4 of ${ext4Mib} MiB mounted at ${ext4.dir}`);
  }
  try {
    await bench(ext4?.dir ?? baseDir ?? os.tmpdir());
  } finally {
    ext4?.remove();
  }
}

/** One line on stderr and exit status 2, for a wrong command line or an option that cannot be met. */
function fail(message: string): never {
  console.error(`bench/restore.ts: ${message}`);
  process.exit(2);
}

async function bench(parent: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(parent, 'mv-bench-restore-'));
  const labFs = describeFilesystem(filesystemOf(dir));
  console.log(`lab filesystem: ${labFs} (lab in ${dir})`);
  const lab = await startLab({ dir: path.join(dir, 'lab') });
  try {
    const server = lab.info.servers[0]!;
    const sim = await MailboxSimulator.open(server, {
      seed: 'bench-restore',
      rolloverBytes: 64 * 1024 * 1024,
    });
    step('lab up; populating');
    const [big] = await sim.provision(['big']);
    await sim.populate(messages, { concurrency: 1 });
    const eight = await sim.provision(Array.from({ length: 8 }, (_, i) => `r${i + 1}`));
    // From here on the simulator works on the eight only.
    sim.mailboxes.delete(big!.email);
    await sim.populate(20);
    // A connection for each of the 8 players and one more: a player keeps its transaction open
    // while it waits for ops only when no player waits for a connection (engine/replay/player-queue.ts).
    const access = await openServerAccess(new LocalTransport({ name: server.hostname }), {
      zimbraHome: server.zimbraHome,
      local: true,
      dbConnections: 9,
    });
    const target = path.join(dir, 'target');
    const options = { target, zip: 'store' as const, blobs: true, index: true, engineVersion: 'bench' };

    step('full backup and restore of one mailbox');
    // 1. One mailbox: its full backup, then its full-only restore, each with the CPU it took
    // (this process and MariaDB's: the machine is shared, wall time alone says little).
    const mariadb = mariadbPid(dir);
    const cpuOf = async <T>(work: () => Promise<T>) => {
      const node = process.cpuUsage();
      const db = cpuSeconds(mariadb);
      const started = performance.now();
      const value = await work();
      const used = process.cpuUsage(node);
      return {
        value,
        ms: performance.now() - started,
        node: (used.user + used.system) / 1e6,
        nodeSystem: used.system / 1e6,
        db: cpuSeconds(mariadb) - db,
      };
    };
    const loadBefore = os.loadavg()[0]!;
    const backup = await cpuOf(() => runFullBackup(access, { ...options, accounts: [big!.email] }));
    const restoreProfiler = profileDir ? await startProfile() : null;
    const restore = await cpuOf(() => runRestore(access, { target, accounts: [big!.email], fullOnly: true }));
    if (restoreProfiler) await stopProfile(restoreProfiler, path.join(profileDir!, 'restore.cpuprofile'));
    const restored = restore.value;
    const backupMs = backup.ms;
    const restoreMs = restore.ms;
    if (restored.status !== 'ok') throw new Error(JSON.stringify(restored.accounts));
    const bigBlobs = restored.accounts[0]!.blobs;
    const ratio = restoreMs / backupMs;
    console.log(
      `restore of one mailbox (${messages} messages, ${bigBlobs} blobs, ${restored.accounts[0]!.filesLinked ?? 0} files linked as the mailbox still had them), full only:`,
    );
    console.log(
      `  full backup ${backupMs.toFixed(0)} ms, restore ${restoreMs.toFixed(0)} ms: ${ratio.toFixed(2)}x (target <= 1.5x) ${ratio <= 1.5 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  CPU: backup node ${backup.node.toFixed(2)} s (system ${backup.nodeSystem.toFixed(2)}) + mariadbd ${backup.db.toFixed(2)} s, restore node ${restore.node.toFixed(2)} s (system ${restore.nodeSystem.toFixed(2)}) + mariadbd ${restore.db.toFixed(2)} s; load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`,
    );
    if (!withReplay) {
      await sim.close();
      await access.close();
      return;
    }

    step('replay: full of eight, activity');
    // 2. Replay: a full of the eight, activity, the eight back to the full, then the redo.
    await runFullBackup(access, { ...options, accounts: eight.map((m) => m.email) });
    const perMailbox = Math.floor(ops / 3 / eight.length);
    await sim.populate(perMailbox, { concurrency: 8, batch: 20 });
    await sim.run({ operations: ops - perMailbox * eight.length });
    await sim.close();
    const restoreEight = async () => {
      const back = await runRestore(access, { target, accounts: eight.map((m) => m.email), fullOnly: true });
      if (back.status !== 'ok') throw new Error(JSON.stringify(back.accounts));
      return back;
    };
    const back = await restoreEight();
    const base = await serverReplayBase(access);
    const logs = selectLogs(await serverRedoLogs(access, path.join(dir, 'logs'))).logs;
    const mailboxes = new Map(
      back.accounts.map((a) => {
        const id = a.mailboxId!;
        return [
          id,
          {
            sourceId: id,
            mailboxId: id,
            groupDb: mailboxGroupDb(id, base.mailboxGroups),
            accountId: a.zimbraId,
            email: a.email,
          },
        ];
      }),
    );
    const logBytes = logs.reduce((n, l) => n + fs.statSync(l.path).size, 0);
    console.log(
      `replay, 8 mailboxes in parallel, ${logs.length} log(s), ${(logBytes / 1048576).toFixed(1)} MiB, lab on ${labFs}:`,
    );
    for (let round = 1; round <= rounds; round++) {
      if (round > 1) await restoreEight();
      // What MariaDB does on its own after the restore (purge of the deleted rows), before replay starts.
      const settleCpu = cpuSeconds(mariadb);
      await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
      const settleDb = cpuSeconds(mariadb) - settleCpu;
      step(
        `replaying (round ${round})${alternate ? (round % 2 === 0 ? ': blobs from the main thread' : ': blobs by the blob thread') : ''}`,
      );
      // The machine is shared: CPU seconds (this process and MariaDB's) say what replay itself cost.
      const statusBefore = await serverStatus(access.db);
      const dbCpu = cpuSeconds(mariadb);
      const mainBefore = threadCpu(process.pid);
      const cpu = process.cpuUsage();
      const load = os.loadavg()[0]!;
      const startedAt = process.uptime();
      const profiler = profileDir ? await startProfile() : null;
      const t = performance.now();
      const blobsInProcess = alternate && round % 2 === 0;
      const report = await playRedo({ ...base, logs, mailboxes, threads: 8, blobsInProcess });
      const replayMs = performance.now() - t;
      if (profiler) await stopProfile(profiler, path.join(profileDir!, `replay-${round}.cpuprofile`));
      const nodeCpu = process.cpuUsage(cpu);
      const mainAfter = threadCpu(process.pid);
      const nodeSeconds = (nodeCpu.user + nodeCpu.system) / 1e6;
      const main = { user: mainAfter.user - mainBefore.user, system: mainAfter.system - mainBefore.system };
      const others = {
        user: nodeCpu.user / 1e6 - main.user,
        system: nodeCpu.system / 1e6 - main.system,
      };
      const dbSeconds = cpuSeconds(mariadb) - dbCpu;
      const statusAfter = await serverStatus(access.db);
      const delta = (name: string) => (statusAfter.get(name) ?? 0) - (statusBefore.get(name) ?? 0);
      const opsPerSecond = report.applied / (replayMs / 1000);
      console.log(
        `  ${report.applied} committed ops applied in ${report.transactions} transactions (${report.retriedCarefully} applied again one op at a time, ${report.alreadyPresent} already present, errors ${report.errors.length}) in ${replayMs.toFixed(0)} ms: ${opsPerSecond.toFixed(0)} ops/s (target >= 5000) ${opsPerSecond >= 5000 ? 'met' : 'NOT met'}`,
      );
      console.log(
        `  CPU during replay: node ${nodeSeconds.toFixed(2)} s, mariadbd ${dbSeconds.toFixed(2)} s: ${(report.applied / (nodeSeconds + dbSeconds)).toFixed(0)} ops per CPU second; load average ${load.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end`,
      );
      console.log(
        `  node's CPU by thread: main ${main.user.toFixed(2)} s user + ${main.system.toFixed(2)} s system, the others (blob thread, libuv's pool, V8's compiler and GC helpers) ${others.user.toFixed(2)} s user + ${others.system.toFixed(2)} s system`,
      );
      console.log(
        `  mariadbd CPU in the ${settleSeconds} s pause before replay: ${settleDb.toFixed(2)} s; statements sent ${delta('Questions')} (${delta('Com_select')} SELECT, ${delta('Com_insert')} INSERT, ${delta('Com_update')} UPDATE, ${delta('Com_delete')} DELETE, ${delta('Com_commit')} COMMIT), ${(delta('Bytes_received') / 1048576).toFixed(1)} MiB received by MariaDB; replay at ${startedAt.toFixed(2)}-${process.uptime().toFixed(2)} s of the process`,
      );
    }
    await access.close();
  } finally {
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A sampling CPU profile of this process from now (the main thread's JavaScript, GC and native calls). */
async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
  console.log(`  profile: ${file}`);
}

/** Counters of SHOW GLOBAL STATUS (statements by kind, bytes received). */
async function serverStatus(db: Pool): Promise<Map<string, number>> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_commit', 'Bytes_received')",
  );
  return new Map(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
}

/** The lab's MariaDB server process (its pid file is in its data directory under dir). */
function mariadbPid(dir: string): number | null {
  const found = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .find((f) => path.basename(f) === 'mariadbd.pid');
  return found ? Number(fs.readFileSync(path.join(dir, found), 'utf8').trim()) : null;
}

/** User and system CPU seconds of one thread of this process so far (/proc/self/task/<tid>/stat). */
function threadCpu(tid: number): { user: number; system: number } {
  const fields = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15, in ticks of 1/100 s). */
function cpuSeconds(pid: number | null): number {
  if (pid === null) return 0;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
