import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTransport, TransportError } from '../../../src-main/engine/transport';
import { SMALL_FILE_BYTES } from '../../../src-main/engine/transport/local-read-ahead';
import { transportContract } from './contract';
import { readAll } from './fixtures';

const transport = new LocalTransport({ name: 'testhost (local)' });
afterAll(() => transport.close());

describe('LocalTransport', () => {
  transportContract(() => transport);

  it('streams the size a file had when opened: growth is cut off, shrinking is an error', async () => {
    // Both past the read-ahead size, so they are streamed when their turn comes (small files are
    // read whole ahead of the consumer, so later changes cannot reach them).
    const big = SMALL_FILE_BYTES + 1000;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-local-'));
    fs.writeFileSync(path.join(dir, 'grows.log'), 'x'.repeat(big));
    fs.writeFileSync(path.join(dir, 'shrinks'), 'y'.repeat(big));
    const iterator = transport.readFiles(dir, ['grows.log', 'shrinks'])[Symbol.asyncIterator]();
    const grows = (await iterator.next()).value!;
    fs.appendFileSync(path.join(dir, 'grows.log'), 'more');
    expect((await readAll(grows.content)).length).toBe(big);
    const shrinks = (await iterator.next()).value!;
    fs.truncateSync(path.join(dir, 'shrinks'), 10);
    const error = await readAll(shrinks.content).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/^testhost \(local\): .*shrinks shrank while being read/);
    expect((error as Error).message).toContain(`(10 of ${big} bytes)`);
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

describe('LocalTransport read-ahead', () => {
  it('hands back many small files whole, in the order asked, skipping the ones that went', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-ahead-'));
    const names = Array.from({ length: 100 }, (_, i) => `d${i % 7}/f${i}.msg`);
    for (const [i, name] of names.entries()) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), `content ${i} `.repeat(i + 1));
    }
    for (const gone of [3, 50, 99]) fs.rmSync(path.join(dir, names[gone]!));
    const seen: string[] = [];
    for await (const entry of new LocalTransport().readFiles(dir, names)) {
      const i = names.indexOf(entry.path);
      expect((await readAll(entry.content)).toString()).toBe(`content ${i} `.repeat(i + 1));
      seen.push(entry.path);
    }
    expect(seen).toEqual(names.filter((_, i) => ![3, 50, 99].includes(i)));
    fs.rmSync(dir, { recursive: true });
  });

  it('names the file it could not read, and does not leave unhandled rejections behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-ahead-'));
    fs.writeFileSync(path.join(dir, 'ok'), 'fine');
    fs.symlinkSync('loop', path.join(dir, 'loop')); // ELOOP: an error that is not "missing", even as root
    fs.writeFileSync(path.join(dir, 'after'), 'fine too');
    const names = ['ok', 'loop', 'after'];
    const got: string[] = [];
    const error = await (async () => {
      for await (const entry of new LocalTransport({ name: 'testhost' }).readFiles(dir, names))
        got.push(entry.path);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['ok']);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/^testhost: cannot open .*loop: .*ELOOP/);
    fs.rmSync(dir, { recursive: true });
  });
});
