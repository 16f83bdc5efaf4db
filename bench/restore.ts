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
 *     [--dir DIR | --journaled-ext4 [MiB]] [--fresh-process [--child-node-flags "A|B"] [--alternate-windows]]
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
 * --fresh-process: each round's replay runs in a new node process (this script, --replay-child),
 * as a real `zmplayredo` does: V8's code, the heap, the pool's connections and the blob thread
 * all cold, which only the first in-process round is. It prints the child's CPU by thread (main,
 * libuv's pool, V8's platform threads, the blob thread) with their page faults, and its main
 * thread's GC pauses. --child-node-flags "A|B|...": node flags of the children, round i taking
 * entry (i - 1) mod n (an empty entry: none), to compare V8 flags a round apart on the same data.
 * --alternate-windows: even rounds read with a new window a MiB and keep every body until its
 * run commits, as before replay/read-windows.ts (with --fresh-process).
 * --no-replay: stop after part 1 (the one-mailbox restore), for iterating on the restore alone.
 * --settle: seconds of pause between the restore of the eight and their replay, with MariaDB's CPU
 * over the pause reported (the background work, mostly InnoDB purging the rows the restore
 * deleted, that would otherwise be counted as replay's). --rounds: the restore and replay are
 * done again that many times on the same data (run-to-run noise on a shared machine).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { runFullBackup } from '../src-main/engine/backup/full-backup';
import type { ReplayMailbox } from '../src-main/engine/replay/apply-ops';
import { selectLogs, serverRedoLogs, type RedoLogFile } from '../src-main/engine/replay/log-files';
import { playRedo } from '../src-main/engine/replay/player';
import { windowCounts } from '../src-main/engine/replay/read-windows';
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
const freshProcess = args.includes('--fresh-process');
const alternateWindows = args.includes('--alternate-windows');
const childFlagsAt = args.indexOf('--child-node-flags');
/** Node flags of each round's child, round i taking entry (i - 1) mod n: "A|B" alternates A and B. */
const childFlags = childFlagsAt >= 0 ? args[childFlagsAt + 1]!.split('|').map((f) => f.trim()) : [''];
const replayChildAt = args.indexOf('--replay-child');

const step = (what: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${what}`);

async function main(): Promise<void> {
  if (replayChildAt >= 0) return replayChild(args[replayChildAt + 1]!);
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
  // Threads there from the start, and libuv's pool (for the in-process rounds' CPU by thread).
  const benchThreads = new Set(threadSamples().keys());
  const benchPool = await libuvPoolThreads();
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
      if (freshProcess) {
        const flags = childFlags[(round - 1) % childFlags.length]!;
        step(
          `replaying (round ${round}) in a fresh process${flags ? ` (node ${flags})` : ''}${alternateWindows ? (round % 2 === 0 ? ': a new read window a MiB, bodies kept to the commit' : ': read windows reused') : ''}`,
        );
        const spec: ChildSpec = {
          hostname: server.hostname,
          zimbraHome: server.zimbraHome,
          logs,
          mailboxes: [...mailboxes.values()],
          mariadb,
          blobsInProcess: alternate && round % 2 === 0,
          reuseReadWindows: !(alternateWindows && round % 2 === 0),
        };
        const specFile = path.join(dir, 'replay-child.json');
        fs.writeFileSync(specFile, JSON.stringify(spec));
        const load = os.loadavg()[0]!;
        const result = runReplayChild(flags, specFile);
        printChildRound(result, load, settleDb);
        continue;
      }
      step(
        `replaying (round ${round})${alternate ? (round % 2 === 0 ? ': blobs from the main thread' : ': blobs by the blob thread') : ''}`,
      );
      // The machine is shared: CPU seconds (this process and MariaDB's) say what replay itself cost.
      const statusBefore = await serverStatus(access.db);
      const dbCpu = cpuSeconds(mariadb);
      const mainBefore = threadCpu(process.pid);
      const threadsBefore = threadSamples();
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
      const threadsAfter = threadSamples();
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
      const split = Object.entries(threadSplit(threadsBefore, threadsAfter, benchPool, benchThreads))
        .map(
          ([role, t]) =>
            `${role}${t.count > 1 ? ` (${t.count})` : ''} ${t.user.toFixed(2)} + ${t.system.toFixed(2)} s, ${t.minflt} faults`,
        )
        .join('; ');
      console.log(`  by role (user + system): ${split}`);
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

/** What a fresh process needs to replay the bench's logs onto the eight (--fresh-process). */
interface ChildSpec {
  hostname: string;
  zimbraHome: string;
  logs: RedoLogFile[];
  mailboxes: ReplayMailbox[];
  mariadb: number | null;
  blobsInProcess: boolean;
  reuseReadWindows: boolean;
}

/** A thread's CPU seconds and minor page faults so far (/proc/self/task/<tid>/stat). */
interface ThreadSample {
  user: number;
  system: number;
  minflt: number;
}

/** What the child measured of its one replay. */
interface ChildResult {
  applied: number;
  transactions: number;
  retriedCarefully: number;
  alreadyPresent: number;
  errors: number;
  replayMs: number;
  /** Seconds from the child's start (node, tsx, imports) to the replay's start. */
  startedAt: number;
  node: { user: number; system: number };
  db: number;
  /** CPU and faults by role: main, blobThread, libuv (the pool), v8 (its platform threads: compilers, GC helpers) and the rest. */
  threads: Record<string, ThreadSample & { count: number }>;
  gc: Record<string, { count: number; ms: number }>;
  heapBefore: number;
  heapAfter: number;
  /** The redo reader's windows: new ones and reused ones (replay/read-windows.ts). */
  windows: { allocated: number; reused: number };
}

/**
 * Runs one replay in a new node process (`--replay-child`), as a real `zmplayredo` does: its
 * first replay, with V8's code, the heap, the pool's connections and the blob thread all cold.
 */
function runReplayChild(flags: string, specFile: string): ChildResult {
  const nodeArgs = [
    ...flags.split(/\s+/).filter(Boolean),
    '--import',
    'tsx',
    process.argv[1]!,
    '--replay-child',
    specFile,
  ];
  const out = spawnSync(process.execPath, nodeArgs, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('replay-child '));
  if (out.status !== 0 || !line)
    throw new Error(`the replay child failed (status ${out.status}): ${out.stdout}`);
  return JSON.parse(line.slice('replay-child '.length)) as ChildResult;
}

function printChildRound(r: ChildResult, load: number, settleDb: number): void {
  const opsPerSecond = r.applied / (r.replayMs / 1000);
  const nodeSeconds = r.node.user + r.node.system;
  console.log(
    `  ${r.applied} committed ops applied in ${r.transactions} transactions (${r.retriedCarefully} applied again one op at a time, ${r.alreadyPresent} already present, errors ${r.errors}) in ${r.replayMs.toFixed(0)} ms: ${opsPerSecond.toFixed(0)} ops/s (target >= 5000) ${opsPerSecond >= 5000 ? 'met' : 'NOT met'}; a fresh process, replay from ${r.startedAt.toFixed(2)} s of it`,
  );
  console.log(
    `  CPU during replay: node ${nodeSeconds.toFixed(2)} s (${r.node.user.toFixed(2)} user + ${r.node.system.toFixed(2)} system), mariadbd ${r.db.toFixed(2)} s: ${(r.applied / (nodeSeconds + r.db)).toFixed(0)} ops per CPU second; load average ${load.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end; mariadbd in the pause before ${settleDb.toFixed(2)} s`,
  );
  const threads = Object.entries(r.threads)
    .map(
      ([role, t]) =>
        `${role}${t.count > 1 ? ` (${t.count})` : ''} ${t.user.toFixed(2)} + ${t.system.toFixed(2)} s, ${t.minflt} faults`,
    )
    .join('; ');
  console.log(`  node's CPU by thread (user + system): ${threads}`);
  const gc = Object.entries(r.gc)
    .map(([kind, g]) => `${kind} ${g.count} (${g.ms.toFixed(0)} ms)`)
    .join(', ');
  console.log(
    `  main thread's GC pauses: ${gc || 'none'}; heap used ${(r.heapBefore / 1048576).toFixed(0)} MiB before, ${(r.heapAfter / 1048576).toFixed(0)} MiB after; read windows ${r.windows?.allocated ?? '?'} new, ${r.windows?.reused ?? '?'} reused`,
  );
}

/** Every thread of this process now, by thread id. */
function threadSamples(): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const f = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(Number(tid), { user: Number(f[11]) / 100, system: Number(f[12]) / 100, minflt: Number(f[7]) });
    } catch {
      // Ended since the listing.
    }
  }
  return out;
}

/**
 * The threads of libuv's pool: those that take CPU while the pool hashes (pbkdf2 runs there), the
 * pool started by it if it was not yet.
 */
async function libuvPoolThreads(): Promise<Set<number>> {
  const before = threadSamples();
  await Promise.all(
    Array.from(
      { length: 16 },
      () =>
        new Promise((resolve, reject) =>
          crypto.pbkdf2('x', 'y', 100_000, 32, 'sha256', (e, k) => (e ? reject(e) : resolve(k))),
        ),
    ),
  );
  const after = threadSamples();
  // The pool's threads (UV_THREADPOOL_SIZE, 4 unless set) are those that hashed the most; V8's
  // threads compile a little meanwhile.
  const size = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const gained = [...after]
    .filter(([tid]) => tid !== process.pid)
    .map(([tid, a]) => {
      const b = before.get(tid) ?? { user: 0, system: 0, minflt: 0 };
      return { tid, cpu: a.user + a.system - b.user - b.system };
    })
    .sort((x, y) => y.cpu - x.cpu);
  return new Set(gained.slice(0, size).map((g) => g.tid));
}

/**
 * Each thread's CPU and faults between two samples, summed by role: main, libuv's pool (`pool`),
 * threads there from the start (`atStart`: V8's platform threads, its compilers and GC helpers,
 * and the like) and threads started since (the blob thread, and others' worker threads).
 */
function threadSplit(
  before: Map<number, ThreadSample>,
  after: Map<number, ThreadSample>,
  pool: Set<number>,
  atStart: Set<number>,
): ChildResult['threads'] {
  const threads: ChildResult['threads'] = {};
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { user: 0, system: 0, minflt: 0 };
    const role =
      tid === process.pid
        ? 'main'
        : pool.has(tid)
          ? 'libuv pool'
          : atStart.has(tid)
            ? 'V8 platform and others at start'
            : before.has(tid)
              ? 'started since (blob thread, other workers)'
              : 'new in the replay (blob thread)';
    const r = (threads[role] ??= { user: 0, system: 0, minflt: 0, count: 0 });
    r.user += a.user - b.user;
    r.system += a.system - b.system;
    r.minflt += a.minflt - b.minflt;
    r.count++;
  }
  for (const r of Object.values(threads)) {
    r.user = Math.round(r.user * 100) / 100;
    r.system = Math.round(r.system * 100) / 100;
  }
  return threads;
}

/** The --replay-child process: one replay of the bench's logs, measured, reported as one JSON line. */
async function replayChild(specFile: string): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as ChildSpec;
  const platformThreads = new Set(threadSamples().keys());
  const pool = await libuvPoolThreads();
  const access = await openServerAccess(new LocalTransport({ name: spec.hostname }), {
    zimbraHome: spec.zimbraHome,
    local: true,
    dbConnections: 9,
  });
  const base = await serverReplayBase(access);
  const mailboxes = new Map(spec.mailboxes.map((m) => [m.sourceId, m]));
  const gc: ChildResult['gc'] = {};
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      const g = (gc[kind] ??= { count: 0, ms: 0 });
      g.count++;
      g.ms += e.duration;
    }
  });
  const heapBefore = v8.getHeapStatistics().used_heap_size;
  const db = cpuSeconds(spec.mariadb);
  const before = threadSamples();
  const cpu = process.cpuUsage();
  const startedAt = process.uptime();
  observer.observe({ entryTypes: ['gc'] });
  const t = performance.now();
  const report = await playRedo({
    ...base,
    logs: spec.logs,
    mailboxes,
    threads: 8,
    blobsInProcess: spec.blobsInProcess,
    reuseReadWindows: spec.reuseReadWindows,
  });
  const replayMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const after = threadSamples();
  const dbSeconds = cpuSeconds(spec.mariadb) - db;
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  const threads = threadSplit(before, after, pool, platformThreads);
  const result: ChildResult = {
    applied: report.applied,
    transactions: report.transactions,
    retriedCarefully: report.retriedCarefully,
    alreadyPresent: report.alreadyPresent,
    errors: report.errors.length,
    replayMs,
    startedAt,
    node: { user: used.user / 1e6, system: used.system / 1e6 },
    db: dbSeconds,
    threads,
    gc,
    heapBefore,
    heapAfter: v8.getHeapStatistics().used_heap_size,
    windows: { ...windowCounts },
  };
  console.log(`replay-child ${JSON.stringify(result)}`);
  await access.close();
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
