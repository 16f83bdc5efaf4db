import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveStatusSchema, readLiveStatus, StatusFile } from '../../../src-main/engine/target/session-status';
import { tempDir } from './fixtures';

let dir: string;
beforeEach(() => {
  dir = tempDir('mv-status-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const initial = {
  label: 'full-20210712.155951.123',
  type: 'full' as const,
  startMs: Date.UTC(2021, 6, 12, 15, 59, 51, 123),
};

describe('live status.json', () => {
  it('is written at most twice a second however often progress changes, and never seen half-written', async () => {
    const status = new StatusFile(path.join(dir, 'status.json'), initial);
    await status.flush();
    const until = Date.now() + 1_200;
    let updates = 0;
    let reads = 0;
    while (Date.now() < until) {
      status.update({ bytes: ++updates, currentAccount: `user${updates}@example.com` });
      const seen = await readLiveStatus(dir); // parse + schema; null would mean a torn file
      expect(seen).not.toBeNull();
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await status.flush();
    expect(updates).toBeGreaterThan(200);
    expect(reads).toBe(updates);
    // One write at start, then one per 500 ms at most, and the final flush.
    expect(status.writes).toBeLessThanOrEqual(5);
    const last = liveStatusSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')));
    expect(last).toMatchObject({ ...initial, status: 'in progress', bytes: updates, pid: process.pid });
    await status.close();
  });

  it('delivers the last change without a flush, within the interval', async () => {
    const status = new StatusFile(path.join(dir, 'status.json'), initial, 50);
    await status.flush();
    status.update({ message: 'dumping mailbox 7' });
    status.update({ message: 'copying blobs of mailbox 7' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await readLiveStatus(dir))?.message).toBe('copying blobs of mailbox 7');
    await status.close();
    status.update({ message: 'after close' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await readLiveStatus(dir))?.message).toBe('copying blobs of mailbox 7');
  });
});
