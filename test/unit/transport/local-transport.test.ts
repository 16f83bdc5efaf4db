import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTransport, TransportError } from '../../../src-main/engine/transport';
import { transportContract } from './contract';
import { readAll } from './fixtures';

const transport = new LocalTransport({ name: 'testhost (local)' });
afterAll(() => transport.close());

describe('LocalTransport', () => {
  transportContract(() => transport);

  it('streams the size a file had when opened: growth is cut off, shrinking is an error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-local-'));
    fs.writeFileSync(path.join(dir, 'grows.log'), 'x'.repeat(1000));
    fs.writeFileSync(path.join(dir, 'shrinks'), 'y'.repeat(1000));
    const iterator = transport.readFiles(dir, ['grows.log', 'shrinks'])[Symbol.asyncIterator]();
    const grows = (await iterator.next()).value!;
    fs.appendFileSync(path.join(dir, 'grows.log'), 'more');
    expect((await readAll(grows.content)).length).toBe(1000);
    const shrinks = (await iterator.next()).value!;
    fs.truncateSync(path.join(dir, 'shrinks'), 10);
    const error = await readAll(shrinks.content).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(
      /^testhost \(local\): .*shrinks shrank while being read \(10 of 1000 bytes\)/,
    );
    await expect(iterator.next()).rejects.toBe(error);
    fs.rmSync(dir, { recursive: true });
  });

  it('closes the open file when the consumer stops early', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-local-'));
    fs.writeFileSync(path.join(dir, 'f'), 'x'.repeat(100_000));
    const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      for await (const _entry of transport.readFiles(dir, ['f', 'f'])) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // closing is asynchronous
    expect(openFds()).toBeLessThanOrEqual(before);
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses calls after close', async () => {
    const closed = new LocalTransport({ name: 'gone (local)' });
    await closed.close();
    await expect(closed.exec(['true'])).rejects.toThrow(/^gone \(local\): transport is closed/);
    await expect(closed.stat('/')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
