/**
 * The standby's copy method against the same work done with plain tools, in one run, on a lab
 * pair (primary = server 2, standby = server 1):
 *   first set:  `mariadb-dump --single-transaction … > f` + `cp -a store index redolog` + `sync`
 *               against `standby snapshot` of mysql, blobs, index and redolog (checked, recorded)
 *   next set:   after more mail, the same plain copy again (everything) against the four
 *               snapshots again (only new blobs, changed index files, new redo bytes)
 *   failover:   `mariadb < dump` + `cp -a` of the copies against failover (load + replay)
 *
 *   node --import tsx bench/standby.ts [--accounts 20] [--messages 40] [--operations 2000]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openServerAccess } from '../src-main/engine/server/server-access';
import { failover } from '../src-main/engine/standby/failover';
import { STANDBY_VOLUMES } from '../src-main/engine/standby/record';
import { takeSnapshot } from '../src-main/engine/standby/snapshot';
import { StandbyDir } from '../src-main/engine/standby/standby-dir';
import { LocalTransport } from '../src-main/engine/transport';
import { startLab } from '../src-main/lab/lab';
import { MailboxSimulator } from '../src-main/lab/simulator/simulator';
import { homePaths } from '../src-main/lab/zimbra-home';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const accounts = option('accounts', 20);
const messages = option('messages', 40);
const operations = option('operations', 2000);

const sh = (script: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync('sh', ['-c', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const time = async (work: () => unknown): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

const lab = await startLab({ servers: 2, mailboxGroups: 100 });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-standby-'));
try {
  const [standbyInfo, primaryInfo] = lab.info.servers;
  const sim = await MailboxSimulator.open(primaryInfo!, {
    seed: 'bench-standby',
    rolloverBytes: 4 * 1024 * 1024,
  });
  await sim.provision(Array.from({ length: accounts }, (_, i) => `user${i}`));
  await sim.populate(messages);
  await sim.sync();
  const open = (s: typeof primaryInfo) =>
    openServerAccess(new LocalTransport({ name: s!.hostname }), { zimbraHome: s!.zimbraHome, local: true });
  const primary = await open(primaryInfo);
  const standby = await open(standbyInfo);
  const dir = new StandbyDir(standby.transport, path.join(standbyInfo!.zimbraHome, 'standby'));
  const p = homePaths(primaryInfo!.zimbraHome);
  const dbs = ['zimbra', ...Array.from({ length: 100 }, (_, i) => `mboxgroup${i + 1}`)].join(' ');
  const env = { MYSQL_PWD: primaryInfo!.mariadb.password };
  const plainCopy = (to: string) =>
    time(() =>
      sh(
        `rm -rf ${to} && mkdir -p ${to} && mariadb-dump --socket=${p.mysqlSocket} -u zimbra --single-transaction --quick --hex-blob --databases ${dbs} > ${to}/dump.sql && cp -a ${p.store} ${p.index} ${p.redolog} ${to}/ && sync`,
        env,
      ),
    );
  const snapshotAll = () =>
    time(async () => {
      for (const v of STANDBY_VOLUMES) {
        const started = performance.now();
        const e = await takeSnapshot(primary, dir, v);
        detail.push(
          `${v} [${e.method ?? '?'}] ${((performance.now() - started) / 1000).toFixed(2)} s (${e.files} files, ${(e.bytes / 1048576).toFixed(1)} MiB)`,
        );
      }
    });
  const bytes = () =>
    Number(
      execFileSync('du', ['-sb', p.store, p.index, p.redolog])
        .toString()
        .split('\n')
        .reduce((n, l) => n + (Number(l.split('\t')[0]) || 0), 0),
    );

  const rows: Array<[string, number, number]> = [];
  const detail: string[] = [];
  const firstPlain = await plainCopy(path.join(scratch, 'plain'));
  const firstMv = await snapshotAll();
  detail.push('|');
  rows.push([`first set (${(bytes() / 1048576).toFixed(0)} MiB of files)`, firstMv, firstPlain]);
  await sim.run({ operations });
  await sim.sync();
  const nextPlain = await plainCopy(path.join(scratch, 'plain'));
  const nextMv = await snapshotAll();
  rows.push([`next set after ${operations} ops`, nextMv, nextPlain]);
  await sim.close();
  const sb = homePaths(standbyInfo!.zimbraHome);
  const plainLoad = await time(() =>
    sh(
      `mariadb --socket=${sb.mysqlSocket} -u zimbra < ${scratch}/plain/dump.sql && rm -rf ${scratch}/load && mkdir -p ${scratch}/load && cp -a ${scratch}/plain/store ${scratch}/plain/index ${scratch}/plain/redolog ${scratch}/load/ && sync`,
      { MYSQL_PWD: standbyInfo!.mariadb.password },
    ),
  );
  let replayed = 0;
  const mvFailover = await time(async () => {
    const r = await failover(standby, dir, { reindex: false });
    replayed = r.replay?.applied ?? 0;
  });
  rows.push([`failover (load + replay of ${replayed} ops)`, mvFailover, plainLoad]);
  console.log(`standby bench: ${accounts} accounts × ${messages} messages, 100 mboxgroups`);
  for (const [what, mv, plain] of rows)
    console.log(
      `  ${what.padEnd(40)} mailvault ${(mv / 1000).toFixed(2)} s   plain ${(plain / 1000).toFixed(2)} s   ratio ${(mv / plain).toFixed(2)}×`,
    );
  console.log(`  per volume: ${detail.join(', ')}`);
  await primary.close();
  await standby.close();
} finally {
  await lab.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
