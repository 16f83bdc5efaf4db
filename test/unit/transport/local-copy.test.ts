import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport, TransportError } from '../../../src-main/engine/transport';

let dir: string;
const transport = new LocalTransport({ name: 'here' });
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-copy-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('LocalTransport.copyToLocal', () => {
  it('copies the bytes exactly and never overwrites', async () => {
    const source = path.join(dir, 'a.log');
    const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => (i * 31) % 251));
    fs.writeFileSync(source, data);
    const dest = path.join(dir, 'b.log');
    expect(await transport.copyToLocal(source, dest)).toBe(true);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    fs.writeFileSync(dest, 'kept');
    await expect(transport.copyToLocal(source, dest)).rejects.toThrow(TransportError);
    expect(fs.readFileSync(dest, 'utf8')).toBe('kept');
  });

  it('says false for a source that is gone, and fails for a destination it cannot write', async () => {
    expect(await transport.copyToLocal(path.join(dir, 'gone.log'), path.join(dir, 'x'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    const source = path.join(dir, 'a.log');
    fs.writeFileSync(source, 'abc');
    await expect(transport.copyToLocal(source, path.join(dir, 'no-dir', 'x'))).rejects.toThrow(/cannot copy/);
  });
});

describe('LocalTransport.readHead', () => {
  it('gives the first bytes, a shorter file whole, and null for a missing file', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, Buffer.from('0123456789'));
    expect((await transport.readHead(file, 4))?.toString()).toBe('0123');
    expect((await transport.readHead(file, 512))?.toString()).toBe('0123456789');
    expect(await transport.readHead(path.join(dir, 'gone.log'), 512)).toBeNull();
  });
});
