import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mailboxdCache } from '../../../src-main/engine/backup/mailbox-cache';
import { LocalTransport } from '../../../src-main/engine/transport';

/**
 * When a full backup flushes mailboxd's account cache. No mailboxd is started here (the lab has
 * none either): the pid file names a plain `sleep`, and bin/zmprov is a script that records its
 * arguments, which is enough to check *when* zmprov is called and with what.
 */
const dirs: string[] = [];
const children: Array<{ kill: () => void }> = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function zimbraHome(withZmprov: boolean, exitCode = 0) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-cache-'));
  dirs.push(home);
  const log = path.join(home, 'log');
  fs.mkdirSync(log);
  const calls = path.join(home, 'calls');
  if (withZmprov) {
    fs.mkdirSync(path.join(home, 'bin'));
    fs.writeFileSync(
      path.join(home, 'bin/zmprov'),
      `#!/bin/sh\necho "$@" >> '${calls}'\n[ ${exitCode} = 0 ] || echo "ERROR: service.FAILURE" >&2\nexit ${exitCode}\n`,
      { mode: 0o755 },
    );
  }
  return { home, log, calls: () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '') };
}

function livePid(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('mailboxdCache', () => {
  const transport = new LocalTransport();

  it('is none without zmprov, even with mailboxd running', async () => {
    const z = zimbraHome(false);
    fs.writeFileSync(path.join(z.log, 'zmmailboxd_java.pid'), `${livePid()}\n`);
    expect(await mailboxdCache(transport, z.home, z.log)).toBeNull();
  });

  it('is none with zmprov but no mailboxd (no pid file, or a stale one): zmprov is never run', async () => {
    const z = zimbraHome(true);
    expect(await mailboxdCache(transport, z.home, z.log)).toBeNull();
    const dead = spawn('true');
    await new Promise((resolve) => dead.on('exit', resolve));
    fs.writeFileSync(path.join(z.log, 'zmmailboxd_manager.pid'), `${dead.pid}\n`);
    expect(await mailboxdCache(transport, z.home, z.log)).toBeNull();
    expect(z.calls()).toBe('');
  });

  it('with a live mailboxd pid and zmprov: flushCache account <zimbraId>', async () => {
    const z = zimbraHome(true);
    fs.writeFileSync(path.join(z.log, 'zmmailboxd_java.pid'), `${livePid()}\n`);
    const cache = await mailboxdCache(transport, z.home, z.log);
    expect(cache?.zmprov).toBe(path.join(z.home, 'bin/zmprov'));
    expect(await cache!.flush('0c1e0a4e-1111-2222-3333-444455556666')).toBeNull();
    expect(z.calls()).toBe('flushCache account 0c1e0a4e-1111-2222-3333-444455556666\n');
  });

  it('a failed flush is a warning naming the command and what zmprov said', async () => {
    const z = zimbraHome(true, 2);
    fs.writeFileSync(path.join(z.log, 'zmmailboxd.pid'), `${livePid()}\n`);
    const cache = await mailboxdCache(transport, z.home, z.log);
    const warning = await cache!.flush('abc');
    expect(warning).toMatch(/^zmprov flushCache account abc failed \(2: ERROR: service.FAILURE\)/);
  });
});
