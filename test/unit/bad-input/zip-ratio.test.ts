import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptArchiveError, UnsafeZipEntryError } from '../../../src-main/engine/target/errors';
import { MAX_RATIO, RATIO_FREE_BYTES, ZipReader } from '../../../src-main/engine/target/zip-reader';
import { ZipWriter } from '../../../src-main/engine/target/zip-writer';
import { tempDir } from '../target/fixtures';

/**
 * Issue 9, zip bombs that do not lie: entries whose declared sizes are true but absurd for their
 * compressed bytes (one entry of zeros, or many entries each below the per-entry limit). The
 * restore (engine/restore/mailbox-files.ts) and verify read every archive through ZipReader;
 * each bomb is refused when the archive is opened, before a byte is extracted. Archives of mail
 * as the engine writes them, large ones included, still open.
 */
let dir: string;
beforeEach(() => {
  dir = tempDir('mv-zip-ratio-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function deflated(name: string, entries: Array<[string, Buffer]>): Promise<string> {
  const zipPath = path.join(dir, name);
  const writer = await ZipWriter.create(zipPath, { compression: 'deflate', level: 9 });
  for (const [entry, data] of entries) await writer.addBuffer(entry, data);
  await writer.finish();
  return zipPath;
}

/** Opening must fail; and nothing may have been extracted (there is no reader to extract with). */
async function expectRefused(zipPath: string, kind: typeof UnsafeZipEntryError | typeof CorruptArchiveError) {
  const started = Date.now();
  await expect(ZipReader.open(zipPath)).rejects.toThrow(kind);
  await expect(ZipReader.open(zipPath)).rejects.toThrow(/zip bomb/);
  expect(Date.now() - started).toBeLessThan(5000);
}

describe('zip bombs by compression ratio', { timeout: 60_000 }, () => {
  it('one honest entry of 48 MiB of zeros (about 1000:1) is refused at open, naming it', async () => {
    const zipPath = await deflated('zeros.zip', [['0/msg/0/260-110.msg', Buffer.alloc(48 * 2 ** 20)]]);
    expect(fs.statSync(zipPath).size * MAX_RATIO).toBeLessThan(48 * 2 ** 20);
    await expectRefused(zipPath, UnsafeZipEntryError);
    await expect(ZipReader.open(zipPath)).rejects.toThrow(/260-110\.msg/);
  });

  it('many entries each under the per-entry limit, together far above the ratio, are refused', async () => {
    const chunk = Buffer.alloc(RATIO_FREE_BYTES - 1);
    const entries = Array.from({ length: 20 }, (_, i): [string, Buffer] => [`0/msg/0/${i}-1.msg`, chunk]);
    const zipPath = await deflated('many.zip', entries);
    await expectRefused(zipPath, CorruptArchiveError);
  });

  it('a compressed text message over the size limit but at a mail-like ratio opens and reads whole', async () => {
    // Words drawn at random: compresses like text (a few to one), not like zeros.
    const words = ['mail', 'vault', 'zimbra', 'backup', 'restore', 'the', 'of', 'a', 'message', 'redo'];
    const picks = crypto.randomBytes(900_000);
    const text = Buffer.from(Array.from(picks, (b) => words[b % 10]).join(' '));
    expect(text.length).toBeGreaterThan(RATIO_FREE_BYTES);
    const zipPath = await deflated('text.zip', [['0/msg/0/261-2.msg', text]]);
    const reader = await ZipReader.open(zipPath);
    try {
      expect((await reader.readEntry('0/msg/0/261-2.msg')).equals(text)).toBe(true);
    } finally {
      reader.close();
    }
  });

  it('small highly compressible entries (a repeated line) are not taken for bombs', async () => {
    const zipPath = await deflated('small.zip', [['0/msg/0/7-1.msg', Buffer.alloc(RATIO_FREE_BYTES)]]);
    const reader = await ZipReader.open(zipPath);
    expect((await reader.test()).bytes).toBe(RATIO_FREE_BYTES);
    reader.close();
  });
});
