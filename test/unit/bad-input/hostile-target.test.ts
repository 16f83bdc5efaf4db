import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveFileName, RedoLogFileWriter } from '../../../src-main/engine/redolog';
import { acquireLock } from '../../../src-main/engine/target/lock';
import type { RedoLogRecord } from '../../../src-main/engine/target/manifest';
import { listSessions } from '../../../src-main/engine/target/session-list';
import { SessionWriter } from '../../../src-main/engine/target/session-writer';
import { verifyTarget } from '../../../src-main/engine/verify/verify-target';
import { sampleOps } from '../redolog/sample-ops';
import { SERVER_ID, tempDir } from '../target/fixtures';
import { runCli } from './cli-harness';

/**
 * Issue 9, hostile files in a target: corrupted and truncated redo logs and manifests, and files
 * that are not files (FIFOs, directories, links). Whatever the damage, `verify` and the session
 * listing give an answer (never hang, never throw), never call a damaged session complete or
 * intact, and `mailvault verify` says so with exit 1 and no stack trace.
 */
let target: string;
beforeEach(() => {
  target = tempDir('mv-hostile-');
});
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

/** Seeded so a failure can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function goodRedoLog(seq: number): Promise<Buffer> {
  const file = path.join(target, `.log-${seq}`);
  const writer = await RedoLogFileWriter.create(file, {
    seq,
    serverId: SERVER_ID,
    createTime: 1_763_880_000_000,
  });
  for (const op of sampleOps()) writer.append(op);
  await writer.close();
  const bytes = fs.readFileSync(file);
  fs.rmSync(file);
  return bytes;
}

/** An incremental holding one redo log with these bytes; the record is of the bytes as given. */
async function sessionWithLog(seq: number, bytes: Buffer): Promise<string> {
  const lock = await acquireLock(target, { operation: 'test' });
  try {
    const writer = await SessionWriter.create(target, { type: 'incremental', lock });
    await writer.writeFile('sys/localconfig.xml', '<localconfig/>\n');
    await writer.writeFile('sys/empty.txt', '');
    const name = archiveFileName(1_763_880_000_000 + seq, seq);
    fs.mkdirSync(path.join(target, 'redologs'), { recursive: true });
    fs.writeFileSync(path.join(target, 'redologs', name), bytes);
    const record: RedoLogRecord = {
      name,
      seq,
      bytes: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      firstOpMs: null,
      lastOpMs: null,
    };
    const manifest = await writer.commit({
      server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
      engineVersion: 'test',
      status: 'completed',
      redo: { seq: { min: seq, max: seq }, timeMs: null },
      options: { zip: 'store', blobs: true, index: true },
      accounts: [],
      errors: [],
      redoLogs: [record],
      endMs: Date.now(),
    });
    return manifest.label;
  } finally {
    await lock.release();
  }
}

/** verify must answer within a few seconds whatever it finds. */
async function verifyQuickly(label?: string) {
  return Promise.race([
    verifyTarget(target, { label }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('verify hangs')), 5000)),
  ]);
}

async function expectCliNotIntact(): Promise<void> {
  const run = await runCli(['verify', '-t', target]);
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toBe('');
  expect(run.stdout).toContain('NOT intact');
}

const flipPoints = Array.from({ length: 12 }, seeded(9));

describe('damaged redo logs', { timeout: 60_000 }, () => {
  const damages: Array<[string, (good: Buffer) => Buffer]> = [
    ['empty', () => Buffer.alloc(0)],
    ['4 bytes', (g) => g.subarray(0, 4)],
    ['cut inside the header', (g) => g.subarray(0, 300)],
    ['header only', (g) => g.subarray(0, 512)],
    ['cut one byte into the records', (g) => g.subarray(0, 513)],
    ['cut in the middle', (g) => g.subarray(0, Math.floor(g.length / 2))],
    ['last byte missing', (g) => g.subarray(0, g.length - 1)],
    ['zeros', (g) => Buffer.alloc(g.length)],
    ['random bytes', (g) => crypto.randomBytes(g.length)],
    ['header zeroed', (g) => Buffer.concat([Buffer.alloc(512), g.subarray(512)])],
    [
      'a huge record length',
      (g) => {
        const b = Buffer.from(g);
        b.writeInt32BE(0x7fffffff, 512);
        return b;
      },
    ],
    [
      'a negative record length',
      (g) => {
        const b = Buffer.from(g);
        b.writeInt32BE(-5, 512);
        return b;
      },
    ],
    ['garbage appended', (g) => Buffer.concat([g, crypto.randomBytes(777)])],
  ];
  it.each(damages)(
    'damage recorded at backup time (%s): verify reports the log, never intact, and does not throw',
    async (_name, damage) => {
      const good = await goodRedoLog(5);
      const bad = damage(good);
      await sessionWithLog(5, bad);
      const verdict = await verifyQuickly();
      expect(verdict.intact).toBe(false);
      expect(verdict.findings.some((f) => f.file?.startsWith('redologs/'))).toBe(true);
      await expectCliNotIntact();
    },
  );

  it('a good log verifies (the damage above is what fails it)', async () => {
    await sessionWithLog(5, await goodRedoLog(5));
    const verdict = await verifyQuickly();
    expect(verdict.findings).toEqual([]);
    expect(verdict.intact).toBe(true);
  });

  it.each([
    ['truncated after the backup', (f: string) => fs.truncateSync(f, 600)],
    ['replaced by a directory', (f: string) => (fs.rmSync(f), fs.mkdirSync(f))],
    ['replaced by a link to /etc/passwd', (f: string) => (fs.rmSync(f), fs.symlinkSync('/etc/passwd', f))],
    ['replaced by a FIFO', (f: string) => (fs.rmSync(f), execFileSync('mkfifo', [f]))],
    ['removed', (f: string) => fs.rmSync(f)],
    ...Array.from({ length: 12 }, (_, i): [string, (f: string) => void] => {
      // Records carry no checksum (Zimbra's format): a flip is caught by the manifest's SHA-256.
      const at = flipPoints[i]!;
      return [
        `byte flipped at ${(at * 100).toFixed(1)}%`,
        (f: string) => {
          const b = fs.readFileSync(f);
          const pos = Math.floor(at * b.length);
          b[pos] = b[pos]! ^ 0xff;
          fs.writeFileSync(f, b);
        },
      ];
    }),
  ])('damage after the backup (%s): reported, never intact, no hang', async (_name, damage) => {
    await sessionWithLog(5, await goodRedoLog(5));
    const dir = path.join(target, 'redologs');
    damage(path.join(dir, fs.readdirSync(dir)[0]!));
    const verdict = await verifyQuickly();
    expect(verdict.intact).toBe(false);
    await expectCliNotIntact();
  });
});

describe('damaged manifests and session files', { timeout: 60_000 }, () => {
  async function committed(): Promise<{ label: string; dir: string; manifest: string }> {
    const label = await sessionWithLog(5, await goodRedoLog(5));
    const dir = path.join(target, 'sessions', label);
    return { label, dir, manifest: path.join(dir, 'manifest.json') };
  }

  const edits: Array<[string, (m: Record<string, unknown>) => unknown]> = [
    [
      'files holding ../../etc/passwd',
      (m) => ({
        ...m,
        files: { ...(m.files as object), '../../../../etc/passwd': { bytes: 1, sha256: 'ab'.repeat(32) } },
      }),
    ],
    [
      'files holding an absolute path',
      (m) => ({
        ...m,
        files: { ...(m.files as object), '/etc/passwd': { bytes: 1, sha256: 'ab'.repeat(32) } },
      }),
    ],
    ['another label', (m) => ({ ...m, label: 'incr-20200101.000000.000' })],
    ['a label that is a path', (m) => ({ ...m, label: '../../x' })],
    [
      'negative bytes',
      (m) => ({
        ...m,
        files: Object.fromEntries(
          Object.entries(m.files as object).map(([k, v]) => [k, { ...v, bytes: -1 }]),
        ),
      }),
    ],
    [
      'a sha256 that is not hex',
      (m) => ({
        ...m,
        files: Object.fromEntries(
          Object.entries(m.files as object).map(([k, v]) => [k, { ...v, sha256: 'zz' }]),
        ),
      }),
    ],
    ['a status of its own', (m) => ({ ...m, status: 'perfect' })],
    ['a format from the future', (m) => ({ ...m, format: 99 })],
    [
      'redo logs named as paths',
      (m) => ({
        ...m,
        redoLogs: [
          {
            name: '../../../etc/passwd',
            seq: 5,
            bytes: 1,
            sha256: 'ab'.repeat(32),
            firstOpMs: null,
            lastOpMs: null,
          },
        ],
      }),
    ],
    ['a number for an object', () => 42],
    ['null', () => null],
    ['an array', () => []],
  ];

  it.each(edits)(
    'a manifest with %s is invalid: listed so, never complete, verify says not intact',
    async (_n, edit) => {
      const { label, manifest } = await committed();
      fs.writeFileSync(manifest, JSON.stringify(edit(JSON.parse(fs.readFileSync(manifest, 'utf8')))));
      const listing = (await listSessions(target)).find((s) => s.label === label)!;
      expect(listing.state).toBe('invalid');
      expect(listing.manifest).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((await verifyQuickly()).intact).toBe(false);
      await expectCliNotIntact();
    },
  );

  it('a manifest with a __proto__ key pollutes nothing (unknown keys are dropped)', async () => {
    const { label, manifest } = await committed();
    const text = fs.readFileSync(manifest, 'utf8').replace('{', '{"__proto__":{"polluted":true},');
    fs.writeFileSync(manifest, text);
    const listing = (await listSessions(target)).find((s) => s.label === label)!;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((listing.manifest as unknown as Record<string, unknown> | undefined)?.polluted).toBeUndefined();
    expect((await verifyQuickly()).intact).toBe(true);
  });

  it('a manifest cut at any of 20 points, or as raw garbage, is never complete', async () => {
    const { label, manifest } = await committed();
    const text = fs.readFileSync(manifest);
    const variants: Buffer[] = [];
    for (let i = 0; i < 20; i++) variants.push(text.subarray(0, Math.floor((i / 20) * text.length)));
    variants.push(
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      Buffer.from('['.repeat(200_000)),
      Buffer.from('{"a":'.repeat(50_000)),
    );
    for (const bytes of variants) {
      fs.writeFileSync(manifest, bytes);
      const listing = (await listSessions(target)).find((s) => s.label === label)!;
      expect(listing.state, `${bytes.length} bytes`).toBe('invalid');
      expect((await verifyQuickly()).intact).toBe(false);
    }
    await expectCliNotIntact();
  });

  it.each([
    ['a directory', (f: string) => (fs.rmSync(f), fs.mkdirSync(f))],
    ['a FIFO', (f: string) => (fs.rmSync(f), execFileSync('mkfifo', [f]))],
    ['a link to another session manifest', (f: string) => (fs.rmSync(f), fs.symlinkSync('/dev/zero', f))],
  ])('a manifest replaced by %s: invalid, and nothing hangs', async (_n, replace) => {
    const { label, manifest } = await committed();
    replace(manifest);
    const listing = await Promise.race([
      listSessions(target),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('listing hangs')), 5000)),
    ]);
    expect(listing.find((s) => s.label === label)!.state).toBe('invalid');
    expect((await verifyQuickly()).intact).toBe(false);
  });

  it.each([
    ['a FIFO', (f: string) => (fs.rmSync(f), execFileSync('mkfifo', [f]))],
    ['a directory', (f: string) => (fs.rmSync(f), fs.mkdirSync(f))],
    ['a link to /dev/zero', (f: string) => (fs.rmSync(f), fs.symlinkSync('/dev/zero', f))],
  ])('an (empty) session file replaced by %s: verify reports it, and does not hang', async (_n, replace) => {
    const { dir } = await committed();
    replace(path.join(dir, 'sys', 'empty.txt'));
    const verdict = await verifyQuickly();
    expect(verdict.intact).toBe(false);
    expect(verdict.sessions[0]!.findings.map((f) => f.file)).toContain('sys/empty.txt');
  });
});
