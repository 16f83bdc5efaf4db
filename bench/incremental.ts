/**
 * An incremental backup of a lab server with new redo logs, against copying the same logs by
 * hand, in one run:
 *   local: `cp <new logs> dir/ && sync`;   SSH: `ssh host cat <log>` for each new log;
 * plus the LDAP export an incremental also makes (`ldapsearch` of the whole directory), timed on
 * its own. Mailvault's `zmbackup -i --sync` runs as its own process under GNU time, locally and
 * over SSH, each against its own target that already holds a full backup.
 *
 *   node --import tsx bench/incremental.ts [--accounts 100] [--messages 40] [--tsx]
 *     [--profile DIR] [--compare OTHER-CLI.mjs [--compare-last]] [--no-ssh]
 *
 * Mailvault runs as it is deployed, the built CLI (npm run build:cli, built here first); --tsx
 * runs it from the sources through tsx instead. --profile writes CPU profiles of Mailvault's
 * incremental runs (node --cpu-prof) into DIR. --compare also runs another build of the CLI (an
 * older commit's out/cli/mailvault.mjs, kept beside it) on copies of the targets, on the
 * same new logs in the same minutes: before and after side by side (the other build first, or
 * with --compare-last after this one). --no-ssh times the local runs only.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeSessions } from '../src-main/engine/target/session-list';
import { startLab } from '../src-main/lab/lab';
import { MailboxSimulator } from '../src-main/lab/simulator/simulator';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const accounts = option('accounts', 100);
const messages = option('messages', 40);
const valueOf = (name: string): string | null => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? path.resolve(args[at + 1]!) : null;
};
const profileDir = valueOf('profile');
const compareEntry = valueOf('compare');
const withSsh = !args.includes('--no-ssh');
const compareLast = args.includes('--compare-last');
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

function timed(command: string, argv: string[]): Promise<Timed> {
  const rss = path.join(os.tmpdir(), `mv-bench-rss-${process.pid}-${Math.random()}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', rss, command, ...argv], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${command} ${argv.join(' ')} exited ${code}`));
      const [maxRss, user, system] = fs.readFileSync(rss, 'utf8').trim().split('\n').pop()!.split(' ');
      resolve({ ms, maxRssKiB: Number(maxRss), cpuMs: (Number(user) + Number(system)) * 1000 });
      fs.rmSync(rss, { force: true });
    });
  });
}

const sh = (script: string) => timed('sh', ['-c', script]);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-incr-'));
  const lab = await startLab({ dir: path.join(dir, 'lab') });
  try {
    const server = lab.info.servers[0]!;
    const home = server.zimbraHome;
    const archive = path.join(home, 'redolog', 'archive');
    const sim = await MailboxSimulator.open(server, { seed: 'bench-incr' });
    await sim.provision(Array.from({ length: accounts }, (_, i) => `user${i + 1}`));
    await sim.populate(5);
    const ssh = `ssh -i '${server.ssh.privateKeyPath}' -p ${server.ssh.port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${server.ssh.user}@${server.ssh.host}`;
    const sshTarget = [
      '-s',
      `ssh://${server.ssh.user}@${server.ssh.host}:${server.ssh.port}`,
      '--identity',
      server.ssh.privateKeyPath,
      '--host-key',
      server.ssh.hostKeyFingerprint,
      '--zimbra-home',
      home,
    ];
    const localTarget = ['-s', 'local', '--zimbra-home', home];
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const cli = (mode: string, extra: string[], entry = cliEntry) =>
      timed(process.execPath, [
        ...(mode === '-i' ? profile : []),
        ...entry,
        'zmbackup',
        mode,
        '-a',
        'all',
        '--sync',
        ...extra,
      ]);
    // Both targets hold a full backup (and so the redo position) before the new activity.
    await cli('-f', [...localTarget, '-t', `${dir}/t-local`]);
    // The other build starts from the same full backup: a copy of the local target.
    if (compareEntry) await sh(`cp -a '${dir}/t-local' '${dir}/t-compare'`);
    if (withSsh) await cli('-f', [...sshTarget, '-t', `${dir}/t-ssh`]);
    if (withSsh && compareEntry) await sh(`cp -a '${dir}/t-ssh' '${dir}/t-compare-ssh'`);
    const before = new Set(fs.readdirSync(archive));
    await sim.populate(5 + messages); // the new messages, logged inline in the redo log
    await sim.redo.rollover();
    await sim.close();
    const fresh = fs.readdirSync(archive).filter((n) => !before.has(n));
    const bytes = fresh.reduce((sum, n) => sum + fs.statSync(path.join(archive, n)).size, 0);
    const list = fresh.map((n) => `'${path.join(archive, n)}'`).join(' ');
    await sh(`cat ${list} > /dev/null`); // page cache, for every side alike

    const results: Record<string, Timed> = {};
    fs.mkdirSync(`${dir}/cp`);
    results.localBaseline = await sh(`cp ${list} '${dir}/cp/' && sync`);
    results.ldap = await sh(
      `ldapsearch -x -H '${server.ldap.url}' -D '${server.ldap.bindDn}' -w '${server.ldap.password}' -b '' -s sub '(objectClass=*)' '*' '+' > /dev/null; ` +
        `ldapsearch -x -H '${server.ldap.url}' -D '${server.ldap.bindDn}' -w '${server.ldap.password}' -b 'cn=zimbra' > /dev/null; ` +
        `ldapsearch -x -H '${server.ldap.url}' -D '${server.ldap.bindDn}' -w '${server.ldap.password}' -b '${server.ldap.baseDn}' > /dev/null`,
    );
    const runCompare = async () => {
      if (compareEntry)
        results.compare = await cli('-i', [...localTarget, '-t', `${dir}/t-compare`], [compareEntry]);
    };
    // The other build runs first unless --compare-last: swap the order to see what it changes.
    if (!compareLast) await runCompare();
    results.local = await cli('-i', [...localTarget, '-t', `${dir}/t-local`]);
    if (compareLast) await runCompare();
    if (withSsh) {
      fs.mkdirSync(`${dir}/ssh`);
      results.sshBaseline = await sh(
        fresh.map((n) => `${ssh} "cat '${path.join(archive, n)}'" > '${dir}/ssh/${n}'`).join(' && ') +
          ' && sync',
      );
      const runCompareSsh = async () => {
        if (compareEntry)
          results['compare-ssh'] = await cli(
            '-i',
            [...sshTarget, '-t', `${dir}/t-compare-ssh`],
            [compareEntry],
          );
      };
      if (!compareLast) await runCompareSsh();
      results.ssh = await cli('-i', [...sshTarget, '-t', `${dir}/t-ssh`]);
      if (compareLast) await runCompareSsh();
    }

    console.log(
      `data: ${accounts} accounts, ${fresh.length} new redo logs, ${(bytes / 2 ** 20).toFixed(0)} MiB; CLI ${cliEntry.at(-1)}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(`ldap export (ldapsearch of the directory): ${results.ldap!.ms.toFixed(0)} ms`);
    for (const [kind, baseline] of [
      ...(compareEntry ? ([['compare', 'localBaseline']] as const) : []),
      ['local', 'localBaseline'],
      ...(withSsh && compareEntry ? ([['compare-ssh', 'sshBaseline']] as const) : []),
      ...(withSsh ? ([['ssh', 'sshBaseline']] as const) : []),
    ] as const) {
      const ours = results[kind]!;
      const base = results[baseline]!;
      const copied = (await completeSessions(`${dir}/t-${kind}`)).find(
        (s) => s.manifest.type === 'incremental',
      );
      const budget = 1.5 * base.ms + results.ldap!.ms;
      console.log(
        `${kind}: mailvault ${ours.ms.toFixed(0)} ms (${copied?.manifest.redoLogs?.length ?? 0} logs), peak RSS ${(ours.maxRssKiB / 1024).toFixed(0)} MiB; ` +
          `baseline ${base.ms.toFixed(0)} ms; ratio ${(ours.ms / base.ms).toFixed(2)}x; ` +
          `CPU ${ours.cpuMs.toFixed(0)} ms vs baseline ${base.cpuMs.toFixed(0)} ms; ` +
          `target 1.5x baseline + ldap = ${budget.toFixed(0)} ms: ${ours.ms <= budget ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
