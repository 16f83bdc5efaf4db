/**
 * zmbackupquery and plan on a big target, through the catalog, against the same answers without
 * it (every manifest read and validated, as listSessions does), in one run:
 *
 *   node --import tsx bench/query.ts [--sessions 5000] [--accounts 200] [--full-every 10] [--rounds 5] [--keep]
 *
 * The synthetic target is manifests only (generated from string templates, so it takes seconds),
 * a full every --full-every sessions and incrementals in between, each session holding every
 * account. The queried account has what a real answer needs: its mailbox.sql in the latest full
 * (5,000 messages in 10 folders) and the redo logs of the incrementals after it (2,000 committed
 * ops each over all mailboxes, deletes and an EmptyFolder among them).
 *
 * Printed: generation, the catalog's rebuild from nothing, and warm timings (median of rounds,
 * page cache warm, catalog fresh) of: the session list of one label; a type + window query; the
 * account query with best point in time and bursts; the restore plan; each with its baseline.
 * The target is < 1 s warm for query and plan.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { dumpFooter, dumpHeader } from '../src-main/engine/backup/sql-dump';
import { catalogFile } from '../src-main/engine/catalog/catalog-files';
import { loadCatalog } from '../src-main/engine/catalog/catalog-load';
import { resolveAccount } from '../src-main/engine/plan/account-ref';
import { planRestore } from '../src-main/engine/plan/restore-plan';
import { queryAccount } from '../src-main/engine/query/account-query';
import { querySessions } from '../src-main/engine/query/session-query';
import {
  archiveFileName,
  CURRENT_REDO_VERSION,
  OP_CODES,
  RedoLogFileWriter,
  type RedoOp,
} from '../src-main/engine/redolog';
import { formatLabel } from '../src-main/engine/target/labels';
import { accountPaths } from '../src-main/engine/target/layout';
import { completeSessions } from '../src-main/engine/target/session-list';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SESSIONS = option('sessions', 5000);
const ACCOUNTS = option('accounts', 200);
const FULL_EVERY = option('full-every', 10);
const ROUNDS = option('rounds', 5);
const KEEP = args.includes('--keep');

const SERVER_ID = 'e00428a1-0c00-11d9-836a-000d93afea2a';
const STEP_MS = 6 * 3_600_000;
const T0 = Date.UTC(2022, 0, 1, 2, 0, 0);
const SHA = 'ab'.repeat(32);
const LOG_OPS = 2000;

const uuid = (n: number) => {
  const hex = crypto.createHash('md5').update(`account-${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};
const accounts = Array.from({ length: ACCOUNTS }, (_, n) => ({
  zimbraId: uuid(n),
  email: `user${n}@example.com`,
  mailboxId: n + 1,
}));
const startOf = (i: number) => T0 + i * STEP_MS;
const isFull = (i: number) => i % FULL_EVERY === 0;
const lastFull = Math.floor((SESSIONS - 1) / FULL_EVERY) * FULL_EVERY;

// ---- the queried account's real files ------------------------------------------------------

function mailboxSql(mailboxId: number): string {
  const item = '`mboxgroup1`.`mail_item`';
  const cols =
    '`mailbox_id`, `id`, `type`, `parent_id`, `folder_id`, `name`, `subject`, `mod_metadata`, `mod_content`';
  const rows: string[] = [];
  const system = [
    [11, 'ROOT', 11],
    [1, 'USER_ROOT', 11],
    [2, 'Inbox', 1],
    [3, 'Trash', 1],
    [4, 'Junk', 1],
    [5, 'Sent', 1],
  ] as const;
  for (const [id, name, parent] of system)
    rows.push(
      `(${[mailboxId, id, 1, parent, parent, name, null, 1, 1].map((v) => mysql.escape(v)).join(', ')})`,
    );
  for (let f = 0; f < 4; f++)
    rows.push(
      `(${[mailboxId, 256 + f, 1, 1, 1, `Folder ${f}`, null, 2, 2].map((v) => mysql.escape(v)).join(', ')})`,
    );
  const folders = [2, 3, 4, 5, 256, 257, 258, 259];
  for (let m = 0; m < 5000; m++)
    rows.push(
      `(${[
        mailboxId,
        1000 + m,
        5,
        folders[m % folders.length],
        folders[m % folders.length],
        null,
        `Message ${m}`,
        10 + m,
        10 + m,
      ]
        .map((v) => mysql.escape(v))
        .join(', ')})`,
    );
  return `${dumpHeader('bench')}DELETE FROM ${item} WHERE \`mailbox_id\` = ${mailboxId};\nINSERT INTO ${item} (${cols}) VALUES\n${rows.join(',\n')};\n${dumpFooter}`;
}

let txn = 0;
function op(body: Omit<RedoOp, 'header'>, mailboxId: number, at: number, changeId: number): RedoOp[] {
  const txnId = { time: 1_640_000_000, counter: ++txn };
  const h = (name: string, t: number, c: number) => ({
    version: CURRENT_REDO_VERSION,
    opCode: OP_CODES[name]!,
    timestamp: t,
    changeId: c,
    changeConstraint: 0,
    txnId,
    mailboxId,
  });
  return [
    { ...body, header: h(body.op, at, changeId) } as RedoOp,
    { op: 'CommitTxn', header: h('CommitTxn', at + 1, -1), txnOpCode: OP_CODES[body.op]! } as RedoOp,
  ];
}

async function writeLog(dir: string, seq: number, fromMs: number, toMs: number) {
  const records: RedoOp[] = [];
  const change = new Map<number, number>();
  const seen = new Map<number, number>();
  for (let k = 0; k < LOG_OPS; k++) {
    const mb = (k % ACCOUNTS) + 1;
    const c = (change.get(mb) ?? 100_000 + seq * 10_000) + 1;
    change.set(mb, c);
    const n = seen.get(mb) ?? 0;
    seen.set(mb, n + 1);
    const at = fromMs + Math.floor(((toMs - fromMs) * k) / LOG_OPS);
    const msgId = 100_000 + seq * 10_000 + k;
    // Per mailbox and log: one EmptyFolder of Trash, two single deletes, the rest deliveries.
    const kind = n % 10;
    const body =
      kind === 7
        ? { op: 'EmptyFolder', folderId: 3, subfolders: true }
        : kind === 1 || kind === 4
          ? { op: 'DeleteItem', ids: [1000 + ((k * 7) % 5000)], itemType: 5, constraint: null }
          : {
              op: 'CreateMessage',
              rcptEmail: `user${mb - 1}@example.com`,
              receivedDate: at,
              shared: false,
              digest: 'x',
              size: 100,
              msgId,
              folderId: 2,
              convId: -msgId,
              convFirstMsgId: 0,
              mergedConvIds: [],
              calendarItemId: 0,
              calItemPartStat: 'NE',
              flags: 0,
              noICal: false,
              tags: [],
              path: '@@PATH@@',
              extended: null,
              body: { kind: 'link' },
            };
    records.push(...op(body as Omit<RedoOp, 'header'>, mb, at, c));
  }
  const name = archiveFileName(toMs, seq);
  const file = path.join(dir, name);
  const writer = await RedoLogFileWriter.create(file, { seq, serverId: SERVER_ID });
  for (const r of records) writer.append(r);
  await writer.close();
  const bytes = fs.statSync(file).size;
  const times = records.map((r) => r.header.timestamp);
  return { name, seq, bytes, sha256: SHA, firstOpMs: Math.min(...times), lastOpMs: Math.max(...times) };
}

// ---- the manifests -------------------------------------------------------------------------

/** Per-account JSON pieces, made once: a session is their concatenation. */
function accountPieces(full: boolean, sqlBytes: (n: number) => number) {
  return accounts.map((a, n) => {
    const p = accountPaths(a.zimbraId);
    const files: Array<[string, number]> = full
      ? [
          [p.ldif, 700],
          [p.mailboxSql, sqlBytes(n)],
          [p.blobsZip, 5_000_000 + n],
          [p.indexZip, 300_000 + n],
        ]
      : [[p.ldif, 700]];
    const total = files.reduce((s, [, b]) => s + b, 0);
    const fileEntries = files
      .map(([f, b]) => `${JSON.stringify(f)}:{"bytes":${b},"sha256":"${SHA}"}`)
      .join(',');
    const account = (snapshotMs: number) =>
      `{"zimbraId":"${a.zimbraId}","email":"${a.email}","mailboxId":${full ? a.mailboxId : 'null'},"status":"COMPLETED","bytes":${total},"maintenance":${
        full ? `{"startMs":${snapshotMs + n * 100},"endMs":${snapshotMs + n * 100 + 50}}` : 'null'
      },"files":${JSON.stringify(files.map(([f]) => f))}}`;
    return { account, fileEntries };
  });
}

async function generate(target: string): Promise<void> {
  const sessions = path.join(target, 'sessions');
  const redologs = path.join(target, 'redologs');
  fs.mkdirSync(sessions, { recursive: true });
  fs.mkdirSync(redologs, { recursive: true });
  const sql = mailboxSql(1);
  const sqlSize = Buffer.byteLength(sql);
  const fullPieces = accountPieces(true, (n) => (n === 0 ? sqlSize : 2_000_000 + n));
  const incrPieces = accountPieces(false, () => 0);
  const sys = `"sys/localconfig.xml":{"bytes":9000,"sha256":"${SHA}"},"ldap/directory.ldif":{"bytes":150000,"sha256":"${SHA}"}`;
  // Session i starts while redo log i is live; incremental i brings log i - 1, archived since
  // the previous session began.
  const seqOf = (i: number) => i;
  for (let i = 0; i < SESSIONS; i++) {
    const full = isFull(i);
    const startMs = startOf(i);
    const label = formatLabel(full ? 'full' : 'incremental', startMs);
    const pieces = full ? fullPieces : incrPieces;
    let redoLogs = '';
    let redo = `{"seq":{"min":${seqOf(i)},"max":${seqOf(i)}},"timeMs":null}`;
    if (!full) {
      const seq = seqOf(i - 1);
      const from = startOf(i - 1);
      const log =
        i > lastFull
          ? await writeLog(redologs, seq, from + 60_000, startMs - 60_000)
          : {
              name: archiveFileName(startMs - 60_000, seq),
              seq,
              bytes: 1_000_000,
              sha256: SHA,
              firstOpMs: from + 60_000,
              lastOpMs: startMs - 60_000,
            };
      redoLogs = `,"redoLogs":[${JSON.stringify(log)}]`;
      redo = `{"seq":{"min":${seq},"max":${seq}},"timeMs":{"min":${log.firstOpMs},"max":${log.lastOpMs}}}`;
    }
    const manifest =
      `{"format":1,"label":"${label}","type":"${full ? 'full' : 'incremental'}","server":{"hostname":"mail.example.com","zimbraId":"${SERVER_ID}"},` +
      `"engineVersion":"bench","startMs":${startMs},"endMs":${startMs + 1_800_000},"status":"completed","redo":${redo},` +
      `"options":{"zip":"store","blobs":true,"index":true},"accounts":[${pieces.map((p) => p.account(startMs + 1000)).join(',')}],"errors":[]${redoLogs},` +
      `"files":{${sys},${pieces.map((p) => p.fileEntries).join(',')}}}`;
    const dir = path.join(sessions, label);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'manifest.json'), manifest);
    if (i === lastFull) {
      const rel = accountPaths(accounts[0]!.zimbraId).mailboxSql;
      fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), sql);
    }
  }
}

// ---- measuring -----------------------------------------------------------------------------

interface Timing {
  ms: number;
  /** CPU time of this process (user + system): steadier than wall time on a busy machine. */
  cpuMs: number;
}

async function time<T>(work: () => Promise<T>): Promise<Timing & { value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, value };
}

async function median(rounds: number, work: () => Promise<unknown>): Promise<Timing> {
  const times: Timing[] = [];
  for (let r = 0; r < rounds; r++) times.push(await time(work));
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { ms: mid(times.map((t) => t.ms)), cpuMs: mid(times.map((t) => t.cpuMs)) };
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function main(): Promise<void> {
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-query-'));
  try {
    const generated = await time(() => generate(target));
    const bytes = fs
      .readdirSync(path.join(target, 'sessions'))
      .reduce((s, l) => s + fs.statSync(path.join(target, 'sessions', l, 'manifest.json')).size, 0);
    console.log(
      `target: ${SESSIONS} sessions x ${ACCOUNTS} accounts (a full every ${FULL_EVERY}), manifests ${(bytes / 2 ** 20).toFixed(0)} MiB, generated in ${fmt(generated.ms)}`,
    );
    // Page cache warm for both sides: every manifest read once (and let go).
    await fs.promises.readFile(
      path.join(target, 'sessions', formatLabel('full', startOf(0)), 'manifest.json'),
    );
    for (const label of fs.readdirSync(path.join(target, 'sessions')))
      await fs.promises.readFile(path.join(target, 'sessions', label, 'manifest.json'));
    console.log(
      `uptime load average at start: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );

    const rebuild = await time(() => loadCatalog(target));
    const catalogBytes = fs.statSync(catalogFile(target)).size;
    console.log(
      `catalog rebuild (from nothing): ${fmt(rebuild.ms)} (CPU ${fmt(rebuild.cpuMs)}), ${rebuild.value.manifestsRead} manifests read, catalog ${(catalogBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    const fresh = await median(ROUNDS, () => loadCatalog(target));
    console.log(
      `catalog load, fresh (readdir + stat of every manifest, read + checksum + parse): ${fmt(fresh.ms)} (CPU ${fmt(fresh.cpuMs)})`,
    );

    const account = accounts[0]!.email;
    const lastLabel = formatLabel(isFull(SESSIONS - 1) ? 'full' : 'incremental', startOf(SESSIONS - 1));
    const windowFrom = startOf(SESSIONS - 200);
    const windowTo = startOf(SESSIONS - 100);
    const endMs = startOf(SESSIONS - 1) - 120_000;

    const cases: Array<[string, () => Promise<unknown>]> = [
      [
        `zmbackupquery -lb <last>`,
        async () => querySessions((await loadCatalog(target)).catalog, [], { label: lastLabel }),
      ],
      [
        `zmbackupquery --type full --from --to (100 sessions)`,
        async () =>
          querySessions((await loadCatalog(target)).catalog, [], {
            type: 'full',
            fromMs: windowFrom,
            toMs: windowTo,
          }),
      ],
      [
        `zmbackupquery -a <account> (best point in time, bursts over ${SESSIONS - 1 - lastFull} logs)`,
        async () => {
          const { catalog } = await loadCatalog(target, { parts: ['holders'] });
          return queryAccount(target, catalog, resolveAccount(catalog, account), { toMs: endMs });
        },
      ],
      [
        `plan -a <account> --to <end>`,
        async () => {
          const { catalog } = await loadCatalog(target, { parts: ['holders'] });
          return planRestore(target, catalog, resolveAccount(catalog, account), endMs);
        },
      ],
    ];
    const q = (await loadCatalog(target, { parts: ['holders'] })).catalog;
    const sample = await queryAccount(target, q, resolveAccount(q, account), { toMs: endMs });
    const plan = await planRestore(target, q, resolveAccount(q, account), endMs);
    console.log(
      `  (account query: ${sample.sessions.length} sessions, ${sample.bursts.length} bursts, best point complete: ${sample.bestPointInTime?.complete}; plan: ${plan.redoLogs.length} logs, ${plan.replay.total} ops replayed, reachable ${plan.reachable})`,
    );
    console.log(`warm, median of ${ROUNDS} (wall, CPU):`);
    const results: Array<[string, Timing]> = [];
    for (const [name, work] of cases) results.push([name, await median(ROUNDS, work)]);
    // The baseline: the same answers without a catalog start by reading and validating every
    // manifest (listSessions); the filtering after it costs next to nothing. Measured once, last,
    // so that the manifests it holds in memory do not weigh on the garbage collector above.
    const baseline = await time(async () => (await completeSessions(target)).length);
    for (const [name, ours] of results) {
      const verdict = ours.ms < 1000 ? 'met (< 1 s)' : 'NOT met (>= 1 s)';
      console.log(
        `  ${name}: ${fmt(ours.ms)} (CPU ${fmt(ours.cpuMs)}), ${(ours.ms / baseline.ms).toFixed(3)}x the baseline, ${verdict}`,
      );
    }
    console.log(
      `baseline, every manifest read and validated (no catalog): ${fmt(baseline.ms)} (CPU ${fmt(baseline.cpuMs)})`,
    );
    console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    if (KEEP) console.log(`target kept: ${target}`);
    else fs.rmSync(target, { recursive: true, force: true });
  }
}

await main();
