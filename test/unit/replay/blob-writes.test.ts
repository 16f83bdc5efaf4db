import { describe, expect, it } from 'vitest';
import { BlobWrites } from '../../../src-main/engine/replay/blob-writes';
import { blobDigest } from '../../../src-main/engine/server/blob-digest';
import type { ServerFiles } from '../../../src-main/engine/replay/server-files';

/**
 * Replay's blob writes: a few at a time (fewer in one folder), each folder's in the order handed
 * over, each settling when its file is written; one not begun can be dropped (its message deleted
 * again), one begun cannot.
 */
function recordingFiles(local: boolean) {
  const started: string[] = [];
  const finish = new Map<string, { resolve(): void; reject(error: Error): void }>();
  let running = 0;
  let most = 0;
  const files: Pick<ServerFiles, 'local' | 'writeFile'> = {
    local,
    writeFile(file) {
      started.push(file);
      running++;
      most = Math.max(most, running);
      return new Promise<void>((resolve, reject) => {
        finish.set(file, {
          resolve: () => {
            running--;
            resolve();
          },
          reject: (error) => {
            running--;
            reject(error);
          },
        });
      });
    },
  };
  return { files, started, finish, most: () => most };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BlobWrites', () => {
  it('writes two local files of one folder at a time, in order, each settling when written', async () => {
    const fake = recordingFiles(true);
    const writes = new BlobWrites(fake.files);
    const queued = ['a', 'b', 'c', 'd', 'e'].map((name) => writes.write(name, Buffer.from(name)));
    let settled = 0;
    for (const q of queued) void q.done.then(() => settled++);
    expect(fake.started).toEqual(['a', 'b']);
    fake.finish.get('b')!.resolve();
    await tick();
    expect(fake.started).toEqual(['a', 'b', 'c']);
    expect(settled).toBe(1);
    for (const name of ['a', 'c', 'd', 'e']) {
      await tick();
      fake.finish.get(name)!.resolve();
    }
    await Promise.all(queued.map((q) => q.done));
    expect(fake.started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(fake.most()).toBe(2);
  });

  it('writes four local files at a time across folders, the folder that waited longest first', async () => {
    const fake = recordingFiles(true);
    const writes = new BlobWrites(fake.files);
    const names = ['m1/a', 'm1/b', 'm1/c', 'm2/a', 'm2/b', 'm2/c', 'm3/a', 'm3/b'];
    const queued = names.map((name) => writes.write(name, Buffer.from(name)));
    expect(fake.started).toEqual(['m1/a', 'm1/b', 'm2/a', 'm2/b']);
    fake.finish.get('m2/a')!.resolve();
    await tick();
    // m1 waited longest but has two in flight: m2 has room first.
    expect(fake.started.slice(4)).toEqual(['m2/c']);
    fake.finish.get('m1/a')!.resolve();
    await tick();
    expect(fake.started.slice(5)).toEqual(['m1/c']);
    for (const name of ['m1/b', 'm1/c', 'm2/b', 'm2/c']) fake.finish.get(name)!.resolve();
    await tick();
    expect(fake.started.slice(6)).toEqual(['m3/a', 'm3/b']);
    for (const name of ['m3/a', 'm3/b']) fake.finish.get(name)!.resolve();
    await Promise.all(queued.map((q) => q.done));
    expect(fake.most()).toBe(4);
  });

  it('drops a write not begun, never one begun', async () => {
    const fake = recordingFiles(true);
    const writes = new BlobWrites(fake.files);
    const [a, , c, d] = ['a', 'b', 'c', 'd'].map((name) => writes.write(name, Buffer.from(name)));
    expect(a!.drop()).toBe(false);
    expect(c!.drop()).toBe(true);
    // Dropped: settled at once, and a second drop changes nothing.
    await c!.done;
    expect(c!.drop()).toBe(true);
    fake.finish.get('a')!.resolve();
    fake.finish.get('b')!.resolve();
    await tick();
    expect(fake.started).toEqual(['a', 'b', 'd']);
    expect(d!.drop()).toBe(false);
    fake.finish.get('d')!.resolve();
    await d!.done;
  });

  it('passes a failed write on to its own promise and goes on with the next', async () => {
    const fake = recordingFiles(true);
    const writes = new BlobWrites(fake.files);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => writes.write(name, Buffer.from(name)));
    fake.finish.get('a')!.reject(new Error('ENOSPC'));
    await expect(a!.done).rejects.toThrow('ENOSPC');
    await tick();
    expect(fake.started).toEqual(['a', 'b', 'c']);
    fake.finish.get('b')!.resolve();
    fake.finish.get('c')!.resolve();
    await Promise.all([b!.done, c!.done]);
  });

  it('has more writes in flight over SSH, where each is a command of its own', () => {
    const fake = recordingFiles(false);
    const writes = new BlobWrites(fake.files);
    for (let i = 0; i < 20; i++) writes.write(`f${i}`, Buffer.alloc(1));
    expect(fake.started.length).toBe(8);
  });

  it('fails a write whose body does not match its digest at once, without writing it', async () => {
    const fake = recordingFiles(true);
    const writes = new BlobWrites(fake.files);
    const body = Buffer.from('body');
    const bad = writes.write('bad', body, blobDigest(Buffer.from('other')));
    const good = writes.write('good', body, blobDigest(body));
    await expect(bad.done).rejects.toMatchObject({ code: 'EDIGEST' });
    expect(fake.started).toEqual(['good']);
    fake.finish.get('good')!.resolve();
    await good.done;
  });
});
