import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFullBackup } from '../../src-main/engine/backup/full-backup';
import { parseArchiveFileName } from '../../src-main/engine/redolog/archive-names';
import { formatLocalconfig, parseLocalconfig } from '../../src-main/engine/server/localconfig';
import { openServerAccess } from '../../src-main/engine/server/server-access';
import { completeSessions } from '../../src-main/engine/target/session-list';
import { LocalTransport } from '../../src-main/engine/transport';
import type { Lab } from '../../src-main/lab/lab';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { withLab } from '../helpers/lab-fixture';
import { cliKilledAfter } from '../faults/fault-helpers';

/**
 * Issue 4's crash promise: kill -9 an incremental at each step and at random moments. After
 * every kill, each archived log since the full is either still on the server or held, byte for
 * byte, by a committed session, and no sequence is held twice; the next incremental succeeds.
 * The keep time is 0, so every run also deletes what it holds: the riskiest path.
 */
let lab: Lab;
let sim: MailboxSimulator;
let home: string;
let archive: string;
let target: string;
let truth: string;
let fullStart: number;

const seqOf = (name: string) => parseArchiveFileName(name)!.seq;
const logsIn = (dir: string) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((n) => parseArchiveFileName(n))
        .sort((a, b) => seqOf(a) - seqOf(b))
    : [];

function collectTruth(): void {
  for (const name of logsIn(archive))
    if (!fs.existsSync(path.join(truth, name)))
      fs.copyFileSync(path.join(archive, name), path.join(truth, name));
}

/** An incremental of every account, killed with SIGKILL after `killAfterMs` or at `failpoint`. */
async function incremental(
  killAfterMs: number | null,
  failpoint = '',
): Promise<{ code: number | null; stderr: string }> {
  const args = ['zmbackup', '-i', '-a', 'all', '-s', 'local', '--zimbra-home', home, '-t', target, '--sync'];
  const run = await cliKilledAfter(args, killAfterMs, { MAILVAULT_FAILPOINT: failpoint });
  return { code: run.code, stderr: run.stdout + run.stderr };
}

/** Every log since the full is on the server or committed (byte-identical), and held once. */
async function expectNothingLostOrDoubled(context: string): Promise<Set<string>> {
  const held = new Map<number, string>();
  for (const { manifest } of await completeSessions(target))
    for (const log of manifest.redoLogs ?? []) {
      expect(held.has(log.seq), `${context}: sequence ${log.seq} held twice`).toBe(false);
      held.set(log.seq, log.name);
    }
  const onServer = new Set(logsIn(archive));
  for (const name of logsIn(truth).filter((n) => seqOf(n) >= fullStart)) {
    if (held.get(seqOf(name)) === name) {
      const copy = fs.readFileSync(path.join(target, 'redologs', name));
      expect(copy.equals(fs.readFileSync(path.join(truth, name))), `${context}: ${name} differs`).toBe(true);
    } else expect(onServer.has(name), `${context}: ${name} is neither on the server nor held`).toBe(true);
  }
  return new Set(held.values());
}

beforeAll(async () => {
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  home = server.zimbraHome;
  archive = path.join(home, 'redolog', 'archive');
  const lcFile = path.join(home, 'conf', 'localconfig.xml');
  const lc = new Map(parseLocalconfig(fs.readFileSync(lcFile, 'utf8')));
  lc.set('backup_archived_redolog_keep_time', '0');
  fs.writeFileSync(lcFile, formatLocalconfig(lc));
  sim = await MailboxSimulator.open(server, { seed: 'incremental-crash' });
  await sim.provision(['k1', 'k2', 'k3']);
  await sim.populate(3);
  target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-incr-crash-'));
  truth = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-incr-crash-truth-'));
  const access = await openServerAccess(new LocalTransport({ name: server.hostname }), {
    zimbraHome: home,
    local: true,
  });
  try {
    const full = await runFullBackup(access, {
      target,
      accounts: 'all',
      zip: 'store',
      blobs: true,
      index: true,
      engineVersion: 'test',
    });
    fullStart = full.redo.seq!.min;
  } finally {
    await access.close();
  }
});

afterAll(async () => {
  await sim?.close().catch(() => undefined);
  await lab?.stop();
  for (const dir of [target, truth]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('an incremental killed with SIGKILL', () => {
  it('never loses or doubles a redo log, and the next incremental succeeds', async () => {
    const random = (() => {
      let x = 42;
      return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    })();
    let killed = 0;
    // How long a whole run takes here (mostly Node starting): random kills land inside it.
    const started = Date.now();
    expect((await incremental(null)).code).toBe(0);
    const duration = Date.now() - started;
    // Each named step once, the second log copy twice; then random moments late in a run (its
    // first ~half is Node starting).
    const steps = ['system', 'accounts', 'log:1', 'log:2', 'directory', 'committed', 'log:2'];
    // 20 kill points, as the fault suite asks of every command: 7 named steps and 13 moments.
    for (let round = 0; round < 20; round++) {
      for (let r = 0; r < 3; r++) {
        await sim.run({ operations: 8 });
        await sim.redo.rollover();
      }
      collectTruth();
      const run =
        round < steps.length
          ? await incremental(null, `incr-step:${steps[round]}`)
          : await incremental(Math.floor(duration * (0.55 + 0.45 * random())));
      if (run.code === null) killed++;
      await expectNothingLostOrDoubled(`round ${round}`);
    }
    expect(killed).toBeGreaterThanOrEqual(steps.length + 1);
    const last = await incremental(null);
    expect(last.code, last.stderr).toBe(0);
    const held = await expectNothingLostOrDoubled('after the last run');
    // Everything since the full is held now, and (keep time 0) gone from the server.
    const since = logsIn(truth).filter((n) => seqOf(n) >= fullStart);
    expect([...held].sort((a, b) => seqOf(a) - seqOf(b))).toEqual(since);
    expect(logsIn(archive).filter((n) => since.includes(n))).toEqual([]);
    expect(fs.readdirSync(path.join(target, 'redologs')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 600_000);
});
