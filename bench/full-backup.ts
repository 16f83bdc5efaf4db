/**
 * A full backup of a lab server against what an administrator would do by hand, in one run:
 *   local: `tar -cf … store index && sync` plus `mariadb-dump` of zimbra and every mboxgroup;
 *   SSH:   `ssh host 'tar -cf - store index'` plus `ssh host 'mariadb-dump …'`, into local files;
 * and Mailvault's `zmbackup -f --sync` locally and over SSH. Each side runs as its own process
 * under GNU time, so peak RSS is its own. Also reported: each account's maintenance window.
 *
 *   node --import tsx bench/full-backup.ts [--accounts 100] [--messages 500] [--tsx] [--compare FILE]
 *
 * --compare FILE: also runs another build of the CLI (e.g. an older commit's out/cli/mailvault.mjs
 * copied under out/, where it finds node_modules) right after ours on each side, on the same
 * data in the same minutes, so that a change is measured side by side on a shared machine.
 *
 * Mailvault runs as it is deployed, the built CLI (npm run build:cli, built here first); --tsx
 * runs it from the sources through tsx instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeSessions } from '../src-main/engine/target/session-list';
import { WORKER_NODE_FLAGS } from '../src-main/jobs/worker-flags';
import { startLab } from '../src-main/lab/lab';
import { MailboxSimulator } from '../src-main/lab/simulator/simulator';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const accounts = option('accounts', 100);
// --profile DIR: CPU profiles of Mailvault's runs (node --cpu-prof), to open in Chrome's devtools.
const profileDir = args.includes('--profile') ? path.resolve(args[args.indexOf('--profile') + 1]!) : null;
const messages = option('messages', 500);
const compareCli = args.includes('--compare') ? path.resolve(args[args.indexOf('--compare') + 1]!) : null;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliEntry = args.includes('--tsx')
  ? ['--import', 'tsx/esm', 'src-main/cli/main.ts']
  : (() => {
      const built = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: root, stdio: 'inherit' });
      if (built.status !== 0) throw new Error('npm run build:cli failed');
      return ['out/cli/mailvault.mjs'];
    })();

interface Timed {
  ms: number;
  maxRssKiB: number;
  /** User + system CPU time: on a shared machine, the fairer figure than the wall time. */
  cpuMs: number;
}

/** Runs `command` under GNU time; stdout to `stdoutFile` when given. */
function timed(command: string, argv: string[], stdoutFile?: string): Promise<Timed> {
  const rss = path.join(os.tmpdir(), `mv-bench-rss-${process.pid}-${Math.random()}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const out = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'ignore';
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', rss, command, ...argv], {
      cwd: root,
      stdio: ['ignore', out, 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (typeof out === 'number') fs.closeSync(out);
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${command} ${argv.join(' ')} exited ${code}`));
      const [maxRss, user, system] = fs.readFileSync(rss, 'utf8').trim().split('\n').pop()!.split(' ');
      resolve({ ms, maxRssKiB: Number(maxRss), cpuMs: (Number(user) + Number(system)) * 1000 });
      fs.rmSync(rss, { force: true });
    });
  });
}

const sh = (script: string, stdoutFile?: string) => timed('sh', ['-c', script], stdoutFile);
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function main(): Promise<void> {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('needs GNU time (apt-get install time)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-full-'));
  const lab = await startLab({ dir: path.join(dir, 'lab') });
  try {
    const server = lab.info.servers[0]!;
    const sim = await MailboxSimulator.open(server, { seed: 'bench' });
    await sim.provision(Array.from({ length: accounts }, (_, i) => `user${i + 1}`));
    await sim.populate(messages);
    await sim.close();
    const home = server.zimbraHome;
    const bytes = Number(
      (await sh(`du -sb '${home}/store' '${home}/index' > '${dir}/du'`),
      fs
        .readFileSync(`${dir}/du`, 'utf8')
        .split('\n')
        .reduce((s, l) => s + (Number(l.split('\t')[0]) || 0), 0)),
    );
    const dbs = `--databases zimbra $(seq -f 'mboxgroup%g' 1 100 | tr '\\n' ' ')`;
    const dump = `mariadb-dump --no-defaults -S '${server.mariadb.socket}' -u zimbra --password='${server.mariadb.password}' --single-transaction ${dbs}`;
    const ssh = `ssh -i '${server.ssh.privateKeyPath}' -p ${server.ssh.port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${server.ssh.user}@${server.ssh.host}`;
    await sh(`find '${home}/store' '${home}/index' -type f -exec cat {} + > /dev/null`); // page cache, for every side alike

    const results: Record<string, Timed> = {};
    results.localBaseline = await sh(
      `tar -cf '${dir}/b.tar' -C '${home}' store index && ${dump} > '${dir}/b.sql' && sync`,
    );
    const cli = (extra: string[], entry: string[] = cliEntry) =>
      timed(process.execPath, [
        ...WORKER_NODE_FLAGS, // as bin/mailvault runs it
        ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
        ...entry,
        'zmbackup',
        '-f',
        '-a',
        'all',
        '--sync',
        ...extra,
      ]);
    const localArgs = ['-s', 'local', '--zimbra-home', home, '-t'];
    results.local = await cli([...localArgs, `${dir}/target-local`]);
    if (compareCli)
      results.localCompare = await cli([...localArgs, `${dir}/target-localCompare`], [compareCli]);
    results.sshBaseline = await sh(
      `${ssh} "tar -cf - -C '${home}' store index" > '${dir}/s.tar' && ${ssh} "${dump.replace(/"/g, '\\"')}" > '${dir}/s.sql'`,
    );
    const sshArgs = [
      '-s',
      `ssh://${server.ssh.user}@${server.ssh.host}:${server.ssh.port}`,
      '--identity',
      server.ssh.privateKeyPath,
      '--host-key',
      server.ssh.hostKeyFingerprint,
      '--zimbra-home',
      home,
      '-t',
    ];
    results.ssh = await cli([...sshArgs, `${dir}/target-ssh`]);
    if (compareCli) results.sshCompare = await cli([...sshArgs, `${dir}/target-sshCompare`], [compareCli]);

    console.log(
      `data: ${accounts} accounts x ${messages} messages, ${(bytes / 2 ** 20).toFixed(0)} MiB of blobs and index; CLI ${cliEntry.at(-1)}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const kinds = compareCli
      ? (['local', 'localCompare', 'ssh', 'sshCompare'] as const)
      : (['local', 'ssh'] as const);
    for (const kind of kinds) {
      const baseline = kind.startsWith('local') ? 'localBaseline' : 'sshBaseline';
      const ours = results[kind]!;
      const base = results[baseline]!;
      const sessions = await completeSessions(`${dir}/target-${kind}`);
      const windows = sessions[0]!.manifest.accounts.flatMap((a) =>
        a.maintenance ? [a.maintenance.endMs - a.maintenance.startMs] : [],
      );
      console.log(
        `${kind.endsWith('Compare') ? `${kind} (${compareCli})` : kind}: mailvault ${(ours.ms / 1000).toFixed(1)} s, peak RSS ${(ours.maxRssKiB / 1024).toFixed(0)} MiB; ` +
          `baseline ${(base.ms / 1000).toFixed(1)} s; ratio ${(ours.ms / base.ms).toFixed(2)}x; ` +
          `CPU ${(ours.cpuMs / 1000).toFixed(1)} s vs baseline ${(base.cpuMs / 1000).toFixed(1)} s; ` +
          `maintenance window p50 ${quantile(windows, 0.5)} ms, p99 ${quantile(windows, 0.99)} ms, max ${Math.max(...windows)} ms`,
      );
    }
  } finally {
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
