import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Manifest } from '../../src-main/engine/target/manifest';

/** A complete session holds exactly the files its manifest lists, with those SHA-256s. */
export async function verifySessionFiles(dir: string, manifest: Manifest): Promise<void> {
  const onDisk = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => f !== 'manifest.json')
    .sort();
  expect(onDisk).toEqual(Object.keys(manifest.files).sort());
  for (const [file, record] of Object.entries(manifest.files)) {
    const sha = crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(dir, file)))
      .digest('hex');
    expect(sha, file).toBe(record.sha256);
  }
}
