import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDigests, type MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';
import { failover } from '../../src-main/engine/standby/failover';
import { takeSnapshot } from '../../src-main/engine/standby/snapshot';
import type { StandbyVolume } from '../../src-main/engine/standby/record';
import { diffWithoutIndex } from '../helpers/restore-lab';
import { startStandbyLab, type StandbyLab } from '../helpers/standby-lab';
import { cli, seeded, startCli } from './fault-helpers';

/**
 * Issue 9: `standby failover` and `zmplayredo` killed with SIGKILL at seeded moments on the
 * standby. Running the failover again (or zmplayredo again) must give every mailbox exactly the
 * digest an uninterrupted failover gives (idempotent load and replay), which is the primary's
 * as of the last redo-log snapshot. The primary is held still while each snapshot is taken, so
 * that state is known exactly.
 */
let s: StandbyLab;
let failoverMs = 0;
let playMs = 0;
let fromTime = 0;
/** Every mailbox on the standby after an uninterrupted failover (index included). */
const reference = new Map<string, MailboxDigest>();

const onStandby = () => ['-s', 'local', '--zimbra-home', s.standbyInfo.zimbraHome];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function zimbraTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
const playArgs = () => ['zmplayredo', '--fromTime', zimbraTime(fromTime), ...onStandby()];

async function snapshot(volume: StandbyVolume): Promise<void> {
  await s.sim.sync();
  const taken = await takeSnapshot(s.primary, s.dir, volume);
  expect(taken.complete, volume).toBe(true);
}

/** Where the setup is, on stderr: it is long (two lab servers, snapshots, two timed runs). */
const stage = (what: string) => process.stderr.write(`failover-kill: ${new Date().toISOString()} ${what}\n`);

beforeAll(async () => {
  stage('starting the lab');
  s = await startStandbyLab('failover-kill', ['ann', 'bob', 'cyd'], 8);
  stage('lab up; mail, then the set');
  await s.sim.run({ operations: 30 });
  for (const volume of ['mysql', 'blobs', 'index', 'redolog'] as const) await snapshot(volume);
  // Mail after the set, through a rollover, then the redo-log snapshot a failover replays up to.
  await s.sim.run({ operations: 80 });
  await s.sim.redo.rollover();
  await s.sim.run({ operations: 80 });
  await snapshot('redolog');
  stage('set taken; timing an uninterrupted failover');
  const atLastRedo = new Map<string, MailboxDigest>();
  for (const email of s.emails) atLastRedo.set(email, await s.digestPrimary(email));

  // Twice, the faster kept: the first load onto a fresh standby is slower than the ones killed below.
  failoverMs = Infinity;
  let started = 0;
  for (let round = 0; round < 2; round++) {
    started = Date.now();
    const whole = await cli(['standby', 'failover', ...onStandby()]);
    failoverMs = Math.min(failoverMs, Date.now() - started);
    expect(whole.code, whole.stderr).toBe(0);
  }
  for (const email of s.emails) {
    const digest = await s.digestStandby(email);
    expect(diffWithoutIndex(atLastRedo.get(email)!, digest), email).toEqual([]);
    reference.set(email, digest);
  }
  stage('timing zmplayredo over a loaded set');
  const loaded = await failover(s.standby, s.dir, { replay: false });
  fromTime = loaded.set.fromTime;
  // Twice, the faster one kept: the first replay over a fresh load is slower than later ones.
  playMs = Infinity;
  for (let round = 0; round < 2; round++) {
    if (round > 0) await failover(s.standby, s.dir, { replay: false });
    started = Date.now();
    const play = await cli(playArgs());
    playMs = Math.min(playMs, Date.now() - started);
    expect(play.code, play.stderr).toBe(0);
  }
  await expectReference('zmplayredo after failover --no-replay');
  stage(`ready: failover ${failoverMs} ms, zmplayredo ${playMs} ms`);
}, 600_000);

afterAll(async () => {
  await s?.stop();
});

/** Every difference fails: rows, LDAP, index, and a blob missing, different or left over. */
async function expectReference(what: string): Promise<void> {
  for (const email of s.emails)
    expect(diffDigests(reference.get(email)!, await s.digestStandby(email)), `${what}: ${email}`).toEqual([]);
}

/** Seeded moments in a run of `runMs`, from `from` of it to `to` (Node's start-up is the first third or so). */
function moments(seed: number, n: number, runMs: number, from = 0.3, to = 0.95): number[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, () => Math.floor(runMs * (from + (to - from) * rand())));
}

/** Runs the CLI and kills it after `ms`; whether the kill landed (a run may end first). */
async function killAfter(args: string[], ms: number): Promise<boolean> {
  const run = startCli(args);
  const timer = setTimeout(() => run.kill(), ms);
  const result = await run.done;
  clearTimeout(timer);
  if (result.signal === null) expect(result.code, result.stderr).toBe(0);
  return result.signal === 'SIGKILL';
}

describe('standby failover killed with SIGKILL', () => {
  let landed = 0;
  it.each(Array.from({ length: 20 }, (_, i) => [i]))(
    'kill %i: failing over again gives the same digests as an uninterrupted failover',
    async (i) => {
      // Up to 0.85 of the fastest run: since replay got faster (2026-12-01), a failover's length
      // varies more under load, and a CI run saw 10 of 20 kills at up to 0.95 land after its end.
      const at = moments(7001, 20, failoverMs, 0.2, 0.85)[i]!;
      if (await killAfter(['standby', 'failover', ...onStandby()], at)) landed++;
      const again = await failover(s.standby, s.dir);
      expect(again.replay!.errors).toEqual([]);
      await expectReference(`failover after a kill at ${at} ms`);
    },
  );

  it('most kills landed inside a run (not after it ended)', () => {
    expect(landed).toBeGreaterThanOrEqual(15);
  });
});

describe('zmplayredo killed with SIGKILL', () => {
  let landed = 0;
  it.each(Array.from({ length: 6 }, (_, i) => [i]))(
    'kill %i: zmplayredo again over the loaded set gives the same digests',
    async (i) => {
      const at = moments(7002, 6, playMs, 0.25, 0.8)[i]!;
      await failover(s.standby, s.dir, { replay: false });
      if (await killAfter(playArgs(), at)) landed++;
      const again = await cli(playArgs());
      expect(again.code, again.stderr).toBe(0);
      await expectReference(`zmplayredo after a kill at ${at} ms`);
    },
  );

  it('most kills landed inside a run', () => {
    expect(landed).toBeGreaterThanOrEqual(3);
  });
});
