import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import type { Pool } from 'mysql2/promise';
import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { readRedoLog, txnKey } from '../../src-main/engine/redolog';
import { openServerAccess, type ServerAccess } from '../../src-main/engine/server/server-access';
import { StandbyDir } from '../../src-main/engine/standby/standby-dir';
import { LocalTransport, SshTransport } from '../../src-main/engine/transport';
import { isAlive } from '../../src-main/lab/daemon';
import { run } from '../../src-main/lab/exec';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import type { LabServerInfo } from '../../src-main/lab/types';
import { homePaths } from '../../src-main/lab/zimbra-home';
import { digestAccount, ldapClient, pool, withLab } from './lab-fixture';

/**
 * A primary and its standby in one lab: server 2 is the primary (the simulator plays mailboxd
 * there), server 1 the standby, each with its own zimbra_home, MariaDB and sshd. Both use the
 * lab's one OpenLDAP (on server 1), standing for the replica Zimbra keeps at a standby site:
 * LDAP is replicated by Zimbra itself, not shipped with the four volumes (docs/standby.md).
 */
export interface StandbyLab {
  lab: Lab;
  primaryInfo: LabServerInfo;
  standbyInfo: LabServerInfo;
  primary: ServerAccess;
  standby: ServerAccess;
  dir: StandbyDir;
  sim: MailboxSimulator;
  primaryDb: Pool;
  standbyDb: Pool;
  ldap: Client;
  emails: string[];
  digestPrimary(email: string): Promise<MailboxDigest>;
  digestStandby(email: string): Promise<MailboxDigest>;
  sshToStandby(): Promise<SshTransport>;
  /** Kills the primary's mariadbd and sshd (SIGKILL), as a failed site. */
  killPrimary(): void;
  stop(): Promise<void>;
}

export async function startStandbyLab(
  seed: string,
  accounts: string[],
  messages: number,
  options: { rolloverBytes?: number } = {},
): Promise<StandbyLab> {
  const lab = await withLab({ servers: 2, mailboxGroups: 10 });
  const [standbyInfo, primaryInfo] = lab.info.servers as [LabServerInfo, LabServerInfo];
  const sim = await MailboxSimulator.open(primaryInfo, {
    seed,
    rolloverBytes: options.rolloverBytes ?? 256 * 1024,
    abortRate: 0.03,
    abandonRate: 0.01,
  });
  await sim.provision(accounts);
  await sim.populate(messages);
  const open = (s: LabServerInfo) =>
    openServerAccess(new LocalTransport({ name: s.hostname }), { zimbraHome: s.zimbraHome, local: true });
  const primary = await open(primaryInfo);
  const standby = await open(standbyInfo);
  const primaryDb = pool(primaryInfo);
  const standbyDb = pool(standbyInfo);
  const ldap = await ldapClient(standbyInfo);
  const dir = new StandbyDir(standby.transport, path.join(standbyInfo.zimbraHome, 'standby'));
  return {
    lab,
    primaryInfo,
    standbyInfo,
    primary,
    standby,
    dir,
    sim,
    primaryDb,
    standbyDb,
    ldap,
    emails: [...sim.mailboxes.keys()].sort(),
    digestPrimary: (email) => digestAccount(primaryInfo, primaryDb, ldap, email),
    digestStandby: (email) => digestAccount(standbyInfo, standbyDb, ldap, email),
    sshToStandby: () => sshTo(standbyInfo),
    killPrimary: () => {
      const pidFiles = [
        path.join(homePaths(primaryInfo.zimbraHome).mysqlData, 'mariadbd.pid'),
        path.join(lab.info.dir, 'server2', 'ssh', 'sshd.pid'),
      ];
      for (const file of pidFiles) {
        const pid = Number(fs.readFileSync(file, 'utf8').trim());
        if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    },
    stop: async () => {
      // After the primary was killed its database is gone: closing the simulator may not finish.
      await Promise.race([sim.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      await primary.close().catch(() => undefined);
      await standby.close().catch(() => undefined);
      await primaryDb.end().catch(() => undefined);
      await standbyDb.end().catch(() => undefined);
      await ldap.unbind().catch(() => undefined);
      await lab.stop();
    },
  };
}

/** An SSH link to a lab server, as Mailvault reaches a remote one. */
export function sshTo(info: LabServerInfo): Promise<SshTransport> {
  return SshTransport.connect({
    name: info.hostname,
    host: info.ssh.host,
    port: info.ssh.port,
    username: info.ssh.user,
    privateKey: fs.readFileSync(info.ssh.privateKeyPath),
    hostKeyFingerprint: info.ssh.hostKeyFingerprint,
  });
}

/** A lab server reached entirely over SSH: commands, files, and MariaDB/LDAP through tunnels. */
export async function openOverSsh(info: LabServerInfo): Promise<ServerAccess> {
  return openServerAccess(await sshTo(info), { zimbraHome: info.zimbraHome });
}

/**
 * Why btrfs cannot be tried here, or null: a loop-mounted btrfs needs root, mkfs.btrfs, the
 * btrfs tool and loop devices (CI has them: docs/standby.md).
 */
export function btrfsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root (a loop mount needs root)';
  const has = (tool: string) =>
    ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => fs.existsSync(path.join(d, tool)));
  if (!has('mkfs.btrfs') || !has('btrfs')) return 'no btrfs-progs (mkfs.btrfs, btrfs)';
  if (!fs.existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control)';
  if (!fs.readFileSync('/proc/filesystems', 'utf8').includes('btrfs')) {
    // The module may load on first mount; modprobe is tried by mount itself.
    if (!has('modprobe')) return 'the kernel has no btrfs';
  }
  return null;
}

/**
 * Puts `dir` on a btrfs subvolume: a loop file of `sizeMb` formatted btrfs, a subvolume made in
 * it, `dir`'s files copied there, then the subvolume mounted on `dir` itself (paths unchanged,
 * so the servers and the simulator go on using it). `unmount` undoes the mount only: what was
 * written meanwhile stays on the loop file, which is removed.
 */
export async function btrfsSubvolumeOver(
  dir: string,
  image: string,
  sizeMb = 256,
): Promise<{ unmount(): Promise<void> }> {
  const top = `${image}.top`;
  await run('truncate', ['-s', `${sizeMb}M`, image]);
  await run('mkfs.btrfs', ['-q', image]);
  fs.mkdirSync(top, { recursive: true });
  await run('mount', ['-o', 'loop', image, top]);
  try {
    await run('btrfs', ['subvolume', 'create', path.join(top, 'vol')]);
    await run('cp', ['-a', `${dir}/.`, path.join(top, 'vol')]);
  } finally {
    await run('umount', [top]);
  }
  await run('mount', ['-o', 'loop,subvol=vol', image, dir]);
  return {
    unmount: async () => {
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      fs.rmSync(image, { force: true });
      fs.rmSync(top, { recursive: true, force: true });
    },
  };
}

/** Runs `work` with every mailbox of the simulator locked: no op is half done meanwhile. */
export function withEveryMailboxLocked<T>(sim: MailboxSimulator, work: () => Promise<T>): Promise<T> {
  const boxes = [...sim.mailboxes.values()];
  const step = (i: number): Promise<T> =>
    i === boxes.length ? work() : boxes[i]!.exclusive(() => step(i + 1));
  return step(0);
}

/** Commit times of every committed mailbox op in the primary's redo logs (read from its disk). */
export async function primaryCommits(
  server: LabServerInfo,
): Promise<Array<{ mailboxId: number; committedAt: number }>> {
  const p = homePaths(server.zimbraHome);
  const files = [
    ...fs
      .readdirSync(p.redoArchive)
      .filter((f) => f.endsWith('.log'))
      .map((f) => path.join(p.redoArchive, f)),
    p.redoLog,
  ];
  const pending = new Map<string, number>();
  const out = new Map<string, { mailboxId: number; committedAt: number }>();
  for (const file of files)
    for await (const event of readRedoLog(file)) {
      if (event.kind !== 'op') continue;
      const key = txnKey(event.op.header.txnId);
      if (event.op.op === 'CommitTxn') {
        const box = pending.get(key);
        if (box !== undefined && box > 0)
          out.set(key, { mailboxId: box, committedAt: event.op.header.timestamp });
      } else if (event.op.op !== 'Checkpoint' && event.op.op !== 'AbortTxn')
        pending.set(key, event.op.header.mailboxId);
    }
  return [...out.values()];
}
