import fs from 'node:fs';
import path from 'node:path';
import { listAttempts, type ListedAttempt } from '../engine/schedule/attempts';
import type { CrontabPlace } from '../engine/schedule/crontab';
import { CrontabError } from '../engine/schedule/crontab';
import type { BackupOptions, ScheduledServer, ScheduleEntry } from '../engine/schedule/schedule';
import { asInstalled, launcherBeside, onTheServer, pulledOverSsh } from '../engine/schedule/placement';
import { flushSchedule, installSchedule, readSchedule } from '../engine/schedule/schedule-store';
import { missedRuns, nextRuns } from '../engine/schedule/timeline';
import {
  formatSchedule,
  parseEntries,
  saveCommand,
  ScheduleSyntaxError,
} from '../engine/schedule/zimbra-syntax';
import { openTransport, type Transport } from '../engine/transport';
import type {
  ScheduleAttempt,
  ScheduleEntryInput,
  ScheduleEntryInfo,
  ScheduleRun,
  ServerProfile,
  ServerSchedule,
  SshSettings,
} from './contract';
import { ApiFailure } from './failure';
import { connectSpecOf, transportProfileOf } from './server-connect';

/**
 * schedules.get / save / remove: a server's backup schedule as zmschedulebackup installs it, read
 * and written with the engine's functions (engine/schedule, its placement shared with the command
 * line): the server's own crontab (over SSH, or here for a local server), and this machine's
 * crontab for pulled backups. An edit goes where the schedule already is; a new one
 * goes where the console's target is, this machine (a pull for an SSH server).
 */
export interface ScheduleParts {
  /** The crontab command (tests point it at a stand-in that keeps the crontab in a temp file). */
  crontab?: string[];
  /** The launcher cron runs; default this installation's bin/mailvault. */
  launcher?: string;
  now?: () => number;
}

const DAY = 24 * 3_600_000;
/** Next runs shown: a week ahead. Missed runs: looked for at most 30 days back. */
const AHEAD_MS = 7 * DAY;
const MISSED_WITHIN_MS = 30 * DAY;

interface Place {
  where: string;
  server: ScheduledServer;
  /** The server's crontab over SSH (else this machine's). */
  remote: boolean;
}

/**
 * Where a server's schedule may be, as zmschedulebackup puts it (engine/schedule/placement.ts):
 * the crontab of the server itself (this machine for a local server, the SSH user's for a remote
 * one), or this machine's for backups pulled over SSH.
 */
export function schedulePlaces(p: ServerProfile): Place[] {
  const own = onTheServer(p.zimbraHome);
  if (p.access === 'local' || !p.ssh) return [{ where: 'this machine', server: own, remote: false }];
  const { host, user } = p.ssh;
  return [
    { where: `${user}@${host}`, server: own, remote: true },
    {
      where: 'this machine (pull)',
      server: pulledOverSsh(p.ssh, p.zimbraHome, { hostKey: p.ssh.hostKey ?? '' }),
      remote: false,
    },
  ];
}

/** The pull with what the profile gives cron to connect with (its pinned host key, its key file). */
function pullWithKeys(zimbraHome: string, ssh: SshSettings): ScheduledServer {
  return pulledOverSsh(ssh, zimbraHome, {
    hostKey: ssh.hostKey ?? '',
    identity: ssh.auth === 'key' ? ssh.keyPath : undefined,
  });
}

/**
 * The next week's runs, and the missed ones: planned runs with no attempt on record, looked for
 * from when the schedule was installed (`installedMs`, when the console installed exactly what is
 * there now) or else from this server's first attempt (before it a missed run cannot be told from
 * a schedule not yet installed); at most 30 days back.
 */
export function planOf(
  entries: ScheduleEntry[],
  attempts: ListedAttempt[],
  nowMs: number,
  installedMs?: number,
): { next: ScheduleRun[]; missed: ScheduleRun[] } {
  const mark = (r: ScheduleRun): ScheduleRun => ({ kind: r.kind, atMs: r.atMs });
  const next = nextRuns(entries, nowMs, 200)
    .filter((r) => r.atMs <= nowMs + AHEAD_MS)
    .map(mark);
  const first = installedMs ?? (attempts[0] && attempts[0].startMs - 60_000);
  const from = first === undefined ? nowMs : Math.max(first, nowMs - MISSED_WITHIN_MS);
  return { next, missed: missedRuns(entries, attempts, from, nowMs).map(mark) };
}

const ATTEMPTS_SHOWN = 50;

/** `passphrase`: the stored passphrase of a server's key, to read its own crontab over SSH. */
export function scheduleHandlers(
  parts: ScheduleParts = {},
  passphrase: (serverId: string) => Promise<string | undefined> = async () => undefined,
  configDir?: string,
) {
  const command = parts.crontab ?? ['crontab'];
  const now = parts.now ?? Date.now;
  const installs = installLog(configDir);

  async function withPlace<T>(p: ServerProfile, place: Place, use: (c: CrontabPlace) => Promise<T>) {
    let transport: Transport;
    try {
      transport = await openTransport(
        place.remote
          ? transportProfileOf(connectSpecOf(p, await passphrase(p.id).catch(() => undefined)))
          : { kind: 'local', name: 'this machine' },
      );
    } catch (error) {
      throw new ApiFailure('unreachable', `${place.where}: ${(error as Error).message}`);
    }
    try {
      return await use({ transport, command });
    } finally {
      await transport.close();
    }
  }

  /** The pull a workstation's cron runs: needs a key file cron can open and the host key pinned. */
  function pullServer(p: ServerProfile, place: Place): ScheduledServer {
    if (place.server.kind !== 'ssh' || !p.ssh) return place.server;
    const { ssh } = p;
    if (!ssh.hostKey)
      throw new ApiFailure('conflict', `Test the connection to ${p.name} and confirm its host key first.`);
    if (ssh.auth !== 'key' || !ssh.keyPath)
      throw new ApiFailure(
        'conflict',
        `Scheduled backups run from cron, which has no SSH agent: give ${p.name} a private key file.`,
      );
    if (p.hasPassphrase)
      throw new ApiFailure(
        'conflict',
        `Scheduled backups run from cron, which cannot open a key with a passphrase: use a key file without one for ${p.name}.`,
      );
    return pullWithKeys(p.zimbraHome, ssh);
  }

  /** Where the schedule is (the first place holding one), and what could not be read. */
  async function locate(p: ServerProfile) {
    const places = schedulePlaces(p);
    const problems: string[] = [];
    for (const place of places) {
      try {
        const found = await withPlace(p, place, (c) => readSchedule(c, place.server));
        if (found.entries.length > 0) return { place, found, problems };
      } catch (error) {
        problems.push(`${place.where}: ${(error as Error).message}`);
      }
    }
    // None installed: a new schedule goes where the target is, this machine.
    return { place: places.at(-1)!, found: { entries: [], lines: [] as string[] }, problems };
  }

  async function describe(p: ServerProfile): Promise<ServerSchedule> {
    const { place, found, problems } = await locate(p);
    const nowMs = now();
    const attempts = await attemptsOf(p, place);
    const installed = installs.read()[p.id];
    const same = installed && installed.lines.join('\n') === found.lines.join('\n');
    const plan = planOf(found.entries, attempts, nowMs, same ? installed.atMs : undefined);
    const server = place.server.kind === 'ssh' && p.ssh ? pullWithKeys(p.zimbraHome, p.ssh) : place.server;
    return {
      serverId: p.id,
      entries: found.entries.map(entryInfo),
      zimbra: formatSchedule(found.entries),
      command: saveCommand(found.entries, server),
      place: {
        kind: place.remote || p.access === 'local' ? 'server' : 'workstation',
        where: place.where,
        crontab: command.join(' '),
      },
      next: plan.next,
      missed: plan.missed,
      attempts: attempts.map(attemptInfo).reverse().slice(0, ATTEMPTS_SHOWN),
      problems,
    };
  }

  return {
    get: describe,

    async save(p: ServerProfile, input: ScheduleEntryInput[]): Promise<ServerSchedule> {
      const { place, found, problems } = await locate(p);
      if (problems.length > 0 && found.entries.length === 0)
        throw new ApiFailure('unreachable', `The schedule could not be read: ${problems.join('; ')}`);
      const entries = toEntries(input, found.entries, place.remote ? undefined : p.target);
      const server = pullServer(p, place);
      const launcher = found.launcher ?? parts.launcher ?? launcherBeside(import.meta.url);
      const atMs = now();
      const lines = await withPlace(p, place, (c) => installSchedule(c, server, entries, launcher)).catch(
        asFailure,
      );
      installs.write(p.id, { atMs, lines });
      return describe(p);
    },

    async remove(p: ServerProfile): Promise<ServerSchedule> {
      const { place } = await locate(p);
      await withPlace(p, place, (c) => flushSchedule(c, place.server)).catch(asFailure);
      installs.write(p.id, null);
      return describe(p);
    },
  };
}

type Installs = Record<string, { atMs: number; lines: string[] }>;

/**
 * When the console installed each server's schedule (<config dir>/schedules.json), so runs missed
 * since then show even before the first attempt. Best effort: a file that cannot be read or
 * written only means missed runs are counted from the first attempt.
 */
function installLog(dir: string | undefined) {
  const file = dir && path.join(dir, 'schedules.json');
  const read = (): Installs => {
    try {
      const data = file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { installed?: Installs }) : {};
      return data.installed ?? {};
    } catch {
      return {};
    }
  };
  return {
    read,
    write(serverId: string, value: Installs[string] | null) {
      if (!file) return;
      const installed = read();
      if (value) installed[serverId] = value;
      else delete installed[serverId];
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ format: 1, installed }, null, 2)}\n`, {
          mode: 0o600,
        });
        fs.renameSync(`${file}.tmp`, file);
      } catch {
        // Missed runs then count from the first attempt; the schedule itself is installed.
      }
    },
  };
}

function entryInfo(e: ScheduleEntry): ScheduleEntryInfo {
  const zimbra = formatSchedule([e]).split('\n')[2]!.trim();
  return { kind: e.kind, cron: e.cron, ...(e.age ? { age: e.age } : {}), zimbra };
}

/**
 * The form's entries as schedule entries, checked by zmschedulebackup's own parser (a bad cron
 * or age is a bad-request naming it). Options the console does not edit (mail report, zip, …)
 * are kept from the installed entry of the same kind; a new pull writes into the console's target.
 */
function toEntries(
  input: ScheduleEntryInput[],
  installed: ScheduleEntry[],
  target?: string,
): ScheduleEntry[] {
  return input.map((e, i) => {
    const base: BackupOptions =
      installed.find((x) => x.kind === e.kind)?.options ?? installed[0]?.options ?? {};
    const options: BackupOptions = { ...base, ...(target ? { target } : {}) };
    const letter = e.kind === 'full' ? 'f' : e.kind === 'incremental' ? 'i' : 'd';
    try {
      const words = e.kind === 'delete' ? [letter, e.age ?? '', e.cron] : [letter, e.cron];
      if (e.kind !== 'delete' && e.age !== undefined)
        throw new ScheduleSyntaxError(`${letter}: only a delete entry takes an age`);
      return asInstalled(parseEntries(words, options)[0]!);
    } catch (error) {
      if (error instanceof ScheduleSyntaxError)
        throw new ApiFailure('bad-request', `Entry ${i + 1}: ${error.message}`);
      throw error;
    }
  });
}

/** The attempts of this server in the target, oldest first. */
async function attemptsOf(p: ServerProfile, place: Place): Promise<ListedAttempt[]> {
  const all = await listAttempts(p.target).catch(() => []);
  const name = place.server.kind === 'ssh' ? place.server.url : undefined;
  return all.filter((a) => (name ? a.server === name : a.server.endsWith(`(${p.zimbraHome})`)));
}

function attemptInfo(a: ListedAttempt): ScheduleAttempt {
  return {
    id: a.id,
    kind: a.kind,
    startMs: a.startMs,
    endMs: a.endMs,
    status: a.status,
    exitCode: a.exitCode,
    error: a.error,
    labels: a.labels,
    report: a.report && { sent: a.report.sent, error: a.report.error },
  };
}

function asFailure(error: unknown): never {
  if (error instanceof CrontabError) throw new ApiFailure('conflict', error.message);
  throw error;
}
