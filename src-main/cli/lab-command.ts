import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { labInfoFromDir, labIsRunning, readLabState, startLab, stopLab } from '../lab/lab';
import { DEFAULT_LAB_DIR, populateLab } from '../lab/sandbox';
import { MailboxSimulator } from '../lab/simulator/simulator';
import type { LabInfo } from '../lab/types';
import { UsageError } from './usage-error';

const count = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}, not "${value}"`);
  return n;
};

/** How a person reaches each server of the lab with the stock tools. */
export function howToConnect(info: LabInfo): string {
  const lines: string[] = [`Lab in ${info.dir}`];
  for (const s of info.servers) {
    lines.push(
      '',
      `${s.hostname}  (zimbra_home ${s.zimbraHome})`,
      `  ssh:      ssh -i ${s.ssh.privateKeyPath} -p ${s.ssh.port} -o StrictHostKeyChecking=accept-new ${s.ssh.user}@${s.ssh.host}`,
      `            host key ${s.ssh.hostKeyFingerprint}`,
      `  mariadb:  mariadb -S ${s.mariadb.socket} -u ${s.mariadb.user} -p    (password: zimbra_mysql_password in ${s.zimbraHome}/conf/localconfig.xml)`,
      `  ldap:     ldapsearch -x -H ${s.ldap.url} -D '${s.ldap.bindDn}' -W -b '${s.ldap.baseDn}'    (password: zimbra_ldap_password)`,
    );
  }
  lines.push('', `Stop it with: mailvault lab down --dir ${info.dir}`);
  return lines.join('\n');
}

export function labCommand(): Command {
  const lab = new Command('lab').description(
    'the sandbox Zimbra lab: real MariaDB, OpenLDAP and OpenSSH on loopback',
  );

  lab
    .command('up')
    .description('start a lab and leave it running, with provisioned accounts and mail')
    .option('--dir <dir>', 'where the lab lives', DEFAULT_LAB_DIR)
    .option('--servers <n>', 'mailbox servers (sharing one LDAP)', count('--servers', 9), 1)
    .option('--accounts <n>', 'accounts per server', count('--accounts', 10_000), 8)
    .option('--messages <n>', 'messages per account', count('--messages', 100_000), 40)
    .option('--seed <seed>', 'seed of the simulated activity', '1')
    .option('--json', 'print the lab as JSON')
    .action(
      async (o: {
        dir: string;
        servers: number;
        accounts: number;
        messages: number;
        seed: string;
        json?: boolean;
      }) => {
        if (labIsRunning(o.dir)) {
          const info = labInfoFromDir(o.dir)!;
          console.log(o.json ? JSON.stringify(publicInfo(info)) : `Already running.\n${howToConnect(info)}`);
          return;
        }
        if (readLabState(o.dir)) await stopLab(o.dir);
        if (fs.existsSync(o.dir) && fs.readdirSync(o.dir).length > 0)
          fs.rmSync(o.dir, { recursive: true, force: true });
        const log = o.json ? undefined : (line: string) => console.error(line);
        const started = await startLab({ dir: o.dir, servers: o.servers, detached: true, log });
        try {
          log?.(`provisioning ${o.accounts} accounts × ${o.messages} messages per server`);
          await populateLab(started.info, { accounts: o.accounts, messages: o.messages, seed: o.seed });
        } catch (error) {
          await started.stop();
          throw error;
        }
        console.log(o.json ? JSON.stringify(publicInfo(started.info)) : howToConnect(started.info));
      },
    );

  lab
    .command('down')
    .description('stop the lab')
    .option('--dir <dir>', 'where the lab lives', DEFAULT_LAB_DIR)
    .option('--purge', 'also delete its files')
    .action(async (o: { dir: string; purge?: boolean }) => {
      if (!readLabState(o.dir)) throw new UsageError(`no lab in ${o.dir}`);
      await stopLab(o.dir, { removeFiles: o.purge });
      console.log(`Lab in ${o.dir} stopped.`);
    });

  lab
    .command('status')
    .description('show the lab and how to reach it')
    .option('--dir <dir>', 'where the lab lives', DEFAULT_LAB_DIR)
    .option('--json', 'print the lab as JSON')
    .action((o: { dir: string; json?: boolean }) => {
      const info = labInfoFromDir(o.dir);
      const running = labIsRunning(o.dir);
      if (o.json) console.log(JSON.stringify({ running, ...(info ? publicInfo(info) : {}) }));
      else console.log(running && info ? howToConnect(info) : `No lab running in ${o.dir}.`);
    });

  lab
    .command('simulate')
    .description('run mailbox activity (deliveries, moves, flags, deletes, folders) on the lab')
    .option('--dir <dir>', 'where the lab lives', DEFAULT_LAB_DIR)
    .option('--operations <n>', 'how many operations', count('--operations', 10_000_000), 1000)
    .option('--rate <n>', 'operations per second', count('--rate', 100_000), 50)
    .option('--seed <seed>', 'seed of the simulated activity', '2')
    .action(async (o: { dir: string; operations: number; rate: number; seed: string }) => {
      const info = labIsRunning(o.dir) ? labInfoFromDir(o.dir) : undefined;
      if (!info) throw new UsageError(`no lab running in ${o.dir}; start one with: mailvault lab up`);
      for (const [i, server] of info.servers.entries()) {
        const sim = await MailboxSimulator.open(server, { seed: `${o.seed}:${i}` });
        try {
          await sim.run({ operations: o.operations, perSecond: o.rate });
          await sim.flushDeferred();
          await sim.sync();
          console.log(`${server.hostname}: ${JSON.stringify(sim.stats)}`);
        } finally {
          await sim.close();
        }
      }
    });
  return lab;
}

/** Lab info without passwords, for printing. */
function publicInfo(info: LabInfo) {
  return {
    dir: info.dir,
    servers: info.servers.map((s) => ({
      ...s,
      mariadb: { ...s.mariadb, password: undefined },
      ldap: { ...s.ldap, password: undefined },
    })),
  };
}
