import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../../src-main/api/contract';
import { specOf } from '../../../src-main/api/prune';
import type { SecretBox } from '../../../src-main/api/secrets';
import { ServerStore } from '../../../src-main/api/server-store';
import { overviewOf, readTimelineCached, redoCoverage } from '../../../src-main/api/timeline';
import { ProgressMeter } from '../../../src-main/jobs/progress';

const s = (over: Partial<SessionInfo> & Pick<SessionInfo, 'label' | 'type' | 'startMs'>): SessionInfo => ({
  endMs: over.startMs + 100,
  status: 'completed',
  hostname: 'mail1',
  accounts: 1,
  accountErrors: 0,
  bytes: 1,
  errors: [],
  redoLogs: 0,
  redoTimeMs: null,
  redoSeq: null,
  ...over,
});

describe('redo coverage', () => {
  it('runs from a full through incrementals in unbroken sequence, and a sequence jump is a gap', () => {
    const sessions = [
      s({ label: 'full-1', type: 'full', startMs: 1000, redoSeq: { min: 10, max: 10 } }),
      s({
        label: 'incr-1',
        type: 'incremental',
        startMs: 2000,
        redoSeq: { min: 10, max: 14 },
        redoTimeMs: { fromMs: 1000, toMs: 1900 },
      }),
      s({
        label: 'incr-2',
        type: 'incremental',
        startMs: 3000,
        redoSeq: { min: 15, max: 16 },
        redoTimeMs: { fromMs: 1900, toMs: 2950 },
      }),
      // Logs 17–19 never reached the target.
      s({
        label: 'incr-3',
        type: 'incremental',
        startMs: 4000,
        redoSeq: { min: 20, max: 21 },
        redoTimeMs: { fromMs: 3500, toMs: 3990 },
      }),
      s({ label: 'full-2', type: 'full', startMs: 5000, redoSeq: { min: 22, max: 22 } }),
    ];
    const { coverage, gaps } = redoCoverage(sessions);
    expect(coverage).toEqual([
      { fromMs: 1000, toMs: 3100 },
      { fromMs: 5000, toMs: 5100 },
    ]);
    expect(gaps[0]).toEqual({ fromMs: 3100, toMs: 3500, why: 'redo logs 17–19 are missing' });
    expect(overviewOf(sessions, coverage)).toMatchObject({
      lastFull: { label: 'full-2' },
      lastIncremental: { label: 'incr-3' },
      coverage: { fromMs: 5000, toMs: 5100 },
      troubled: 0,
      sessions: 5,
    });
  });

  it('starts nothing from incrementals without a full, and skips failed sessions', () => {
    const sessions = [
      s({ label: 'incr-0', type: 'incremental', startMs: 500, redoSeq: { min: 1, max: 2 } }),
      s({ label: 'full-x', type: 'full', startMs: 1000, status: 'failed' }),
      s({ label: 'full-1', type: 'full', startMs: 2000, status: 'completed with errors' }),
    ];
    const { coverage } = redoCoverage(sessions);
    expect(coverage).toEqual([{ fromMs: 2000, toMs: 2100 }]);
    expect(overviewOf(sessions, coverage).troubled).toBe(2);
  });
});

describe('prune ages', () => {
  it('counts minutes to years back from now, months clamped to the month’s last day', () => {
    const now = new Date(2026, 2, 31, 12, 0, 0).getTime(); // 31 March
    expect(specOf({ kind: 'age', amount: 90, unit: 'minutes' }, now)).toMatchObject({
      timeMs: now - 90 * 60_000,
    });
    expect(specOf({ kind: 'age', amount: 1, unit: 'months' }, now)).toMatchObject({
      timeMs: new Date(2026, 1, 28, 12, 0, 0).getTime(),
    });
    expect(specOf({ kind: 'age', amount: 1, unit: 'years' }, now)).toMatchObject({
      timeMs: new Date(2025, 2, 31, 12, 0, 0).getTime(),
    });
    expect(specOf({ kind: 'label', label: 'full-20260101.000000.000' })).toEqual({
      kind: 'label',
      label: 'full-20260101.000000.000',
    });
  });
});

describe('progress', () => {
  it('reports a rate over the last seconds and a time left from the pace of accounts', () => {
    const meter = new ProgressMeter(0);
    const status = (done: number, bytes: number) => ({
      label: 'full-20260101.000000.000',
      type: 'full' as const,
      status: 'in progress' as const,
      pid: 1,
      hostname: 'h',
      startMs: 0,
      updatedMs: 0,
      accounts: { total: 10, done, errors: 0 },
      currentAccount: 'a@b.c',
      bytes,
      message: null,
    });
    expect(meter.read(status(0, 0), 1000)).toMatchObject({ bytesPerSec: null, etaMs: null });
    const later = meter.read(status(2, 4 << 20), 3000);
    expect(later.bytesPerSec).toBe(2 << 20);
    expect(later.etaMs).toBe(12_000); // 1.5 s per account so far, 8 to go
  });
});

describe('saved servers and secrets', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const box = (kind: SecretBox['kind']): SecretBox => ({
    kind,
    seal: (secret) => Buffer.from(`sealed:${secret}`).toString('base64'),
    open: (sealed) =>
      Buffer.from(sealed, 'base64')
        .toString()
        .replace(/^sealed:/, ''),
  });
  const input = {
    name: 'Mail 2',
    access: 'ssh' as const,
    ssh: { host: 'mail2', port: 22, user: 'root', auth: 'key' as const, keyPath: '/keys/mail2' },
    zimbraHome: '/opt/zimbra',
    target: '/srv/backup',
    passphrase: 'correct horse',
  };
  const store = (kind: SecretBox['kind']) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-store-'));
    dirs.push(dir);
    return new ServerStore(dir, box(kind));
  };

  it('seals a passphrase with a keyring, never writing it in clear', async () => {
    const servers = store('encrypted');
    const saved = await servers.save(input);
    expect(saved).toMatchObject({ hasPassphrase: true });
    expect(saved).not.toHaveProperty('sealedPassphrase');
    expect(fs.readFileSync(servers.file, 'utf8')).not.toContain('correct horse');
    expect(await servers.passphrase(saved.id)).toBe('correct horse');
    // Switching to the agent forgets it.
    await servers.save({
      ...input,
      id: saved.id,
      ssh: { ...input.ssh, auth: 'agent' },
      passphrase: undefined,
    });
    expect(await servers.passphrase(saved.id)).toBeUndefined();
  });

  it("refuses Linux's basic_text fallback unless accepted, and nowhere to keep it at all", async () => {
    await expect(store('weak').save(input)).rejects.toMatchObject({ code: 'conflict' });
    expect((await store('weak').save({ ...input, acceptWeakSecretStorage: true })).hasPassphrase).toBe(true);
    await expect(store('none').save(input)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('checks paths and the pinned key, and forgets the host name when the address changes', async () => {
    const servers = store('none');
    const { passphrase: _, ...plain } = input;
    await expect(servers.save({ ...plain, target: 'backup' })).rejects.toMatchObject({ code: 'bad-request' });
    await expect(
      servers.save({ ...plain, ssh: { ...plain.ssh, hostKey: 'SHA256:short' } }),
    ).rejects.toMatchObject({
      code: 'bad-request',
    });
    const saved = await servers.save(plain);
    await servers.learn(saved.id, { hostname: 'mail2.example.com', hostKey: `SHA256:${'A'.repeat(43)}` });
    expect(await servers.get(saved.id)).toMatchObject({
      hostname: 'mail2.example.com',
      ssh: { hostKey: `SHA256:${'A'.repeat(43)}` },
    });
    await servers.save({ ...plain, id: saved.id, ssh: { ...plain.ssh, host: 'mail3' } });
    expect((await servers.get(saved.id))?.hostname).toBeUndefined();
  });
});

describe('timeline cache', () => {
  it('answers again from memory while the target is unchanged, and reads it again after a change', async () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-timeline-'));
    try {
      fs.mkdirSync(path.join(target, 'sessions'));
      const first = await readTimelineCached(target, undefined);
      expect(first.sessions).toEqual([]);
      expect(await readTimelineCached(target, undefined)).toBe(first);
      fs.mkdirSync(path.join(target, 'sessions', 'full-20260101.000000.000'));
      const second = await readTimelineCached(target, undefined);
      expect(second.sessions.map((s) => [s.label, s.status])).toEqual([
        ['full-20260101.000000.000', 'invalid'],
      ]);
      expect(await readTimelineCached(target, undefined)).toBe(second);
    } finally {
      fs.rmSync(target, { recursive: true, force: true });
    }
  });
});
