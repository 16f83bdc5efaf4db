import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TargetError } from '../../../src-main/engine/target/errors';
import {
  type Manifest,
  parseManifest,
  readManifest,
  validateManifest,
} from '../../../src-main/engine/target/manifest';
import { ACCOUNT_ID, tempDir, validManifest } from './fixtures';

const invalid = (change: (m: Manifest & Record<string, unknown>) => void): unknown => {
  const m = structuredClone(validManifest()) as Manifest & Record<string, unknown>;
  change(m);
  return m;
};

describe('session manifest schema', () => {
  it('accepts a well-formed manifest', () => {
    expect(validateManifest(validManifest())).toEqual(validManifest());
  });

  it.each([
    ['an unknown format', (m) => void ((m as { format: number }).format = 2)],
    ['a bad label', (m) => void (m.label = 'full-20210712')],
    ['a type that contradicts the label', (m) => void (m.type = 'incremental')],
    ['a start time that is not the label time', (m) => void (m.startMs += 1)],
    ['an end before the start', (m) => void (m.endMs = m.startMs - 1)],
    ['status "in progress" in a committed session', (m) => void (m.status = 'in progress')],
    ['an unknown status', (m) => void ((m as { status: string }).status = 'done')],
    ['an unknown zip mode', (m) => void ((m.options as { zip: string }).zip = 'gzip')],
    ['a redo range with min > max', (m) => void (m.redo.seq = { min: 5, max: 4 })],
    ['a server id that is not a UUID', (m) => void (m.server.zimbraId = 'server1')],
    [
      'a file path escaping the session',
      (m) => void (m.files['../../etc/passwd'] = { bytes: 1, sha256: 'ab'.repeat(32) }),
    ],
    [
      'the manifest listing itself',
      (m) => void (m.files['manifest.json'] = { bytes: 1, sha256: 'ab'.repeat(32) }),
    ],
    [
      'a checksum that is not SHA-256 hex',
      (m) => void (m.files['sys/localconfig.xml'] = { bytes: 10, sha256: 'abc' }),
    ],
    ['negative bytes', (m) => void (m.files['sys/localconfig.xml'] = { bytes: -1, sha256: 'ab'.repeat(32) })],
    ['an account listed twice', (m) => void m.accounts.push(structuredClone(m.accounts[0]!))],
    ['an account id that is not a UUID', (m) => void (m.accounts[0]!.zimbraId = '../x')],
    ['an account in ERROR without its error', (m) => void (m.accounts[0]!.status = 'ERROR')],
    [
      'a completed session with an account in ERROR',
      (m) => Object.assign(m.accounts[0]!, { status: 'ERROR', error: 'boom' }),
    ],
    [
      'an account file missing from files',
      (m) => void m.accounts[0]!.files.push(`accounts/1b4/e28/${ACCOUNT_ID}/index.zip`),
    ],
    ['an account file outside its directory', (m) => void (m.accounts[0]!.files = ['sys/localconfig.xml'])],
    ['account bytes that are not the sum of its files', (m) => void (m.accounts[0]!.bytes = 299)],
    ['a missing field', (m) => void delete (m as Record<string, unknown>).engineVersion],
    ['a wrong type', (m) => void ((m as Record<string, unknown>).endMs = '2021-07-12')],
  ] as [string, (m: Manifest & Record<string, unknown>) => void][])('rejects %s', (_what, change) => {
    expect(() => validateManifest(invalid(change))).toThrow(TargetError);
    try {
      validateManifest(invalid(change));
    } catch (error) {
      expect((error as TargetError).code).toBe('INVALID_MANIFEST');
    }
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseManifest('{"format":1,')).toThrow(/not JSON/);
  });
});

describe('readManifest', () => {
  let dir = '';
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tells complete, missing and invalid apart, and never returns an invalid manifest', async () => {
    dir = path.join(tempDir(), 'full-20210712.155951.123');
    fs.mkdirSync(dir);
    expect(await readManifest(dir)).toEqual({ state: 'missing' });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(validManifest()));
    expect(await readManifest(dir)).toEqual({ state: 'complete', manifest: validManifest() });
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ ...validManifest(), status: 'bogus' }),
    );
    const bad = await readManifest(dir);
    expect(bad.state).toBe('invalid');
    expect(bad).not.toHaveProperty('manifest');
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"truncated":');
    expect((await readManifest(dir)).state).toBe('invalid');
  });

  it('refuses a manifest that names another label than its directory', async () => {
    dir = path.join(tempDir(), 'full-20210712.155951.124');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(validManifest()));
    const reading = await readManifest(dir);
    expect(reading).toMatchObject({
      state: 'invalid',
      reason: expect.stringContaining('full-20210712.155951.123'),
    });
  });
});
