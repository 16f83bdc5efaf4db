import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZipReader } from '../../../src-main/engine/target/zip-reader';
import { ZipWriter } from '../../../src-main/engine/target/zip-writer';
import { tempDir } from './fixtures';

const ENTRIES = 70_000; // more than the 65,535 a zip without ZIP64 records can count

describe('ZIP64 by entry count', () => {
  const dir = tempDir('mv-zip64-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(
    `writes ${ENTRIES} tiny entries into a zip that unzip -t and ZipReader accept`,
    { timeout: 30_000 },
    async () => {
      const zip = path.join(dir, 'many.zip');
      const writer = await ZipWriter.create(zip);
      let batch: Promise<void>[] = [];
      for (let i = 0; i < ENTRIES; i++) {
        batch.push(writer.addBuffer(`${i >> 12}/${i}-1.msg`, `message ${i}\n`));
        if (batch.length === 1000) {
          await Promise.all(batch);
          batch = [];
        }
      }
      await Promise.all(batch);
      const result = await writer.finish();
      expect(result.entries).toBe(ENTRIES);

      const bytes = fs.readFileSync(zip);
      const tail = bytes.subarray(bytes.length - 200);
      expect(tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // ZIP64 end of central directory
      expect(tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).toBe(true); // and its locator

      const unzip = spawnSync('unzip', ['-tq', zip], { encoding: 'utf8' });
      expect(unzip.stdout + unzip.stderr).toContain('No errors detected');
      expect(unzip.status).toBe(0);

      const reader = await ZipReader.open(zip);
      try {
        expect(reader.entries).toHaveLength(ENTRIES);
        expect((await reader.readEntry('17/69999-1.msg')).toString()).toBe('message 69999\n');
        expect(await reader.test()).toMatchObject({ entries: ENTRIES });
      } finally {
        reader.close();
      }
    },
  );
});
