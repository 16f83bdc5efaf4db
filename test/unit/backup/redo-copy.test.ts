import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyLogsToTarget } from '../../../src-main/engine/backup/redo-copy';
import { archiveFileName, RedoLogFileWriter, type RedoOp } from '../../../src-main/engine/redolog';
import type { ServerAccess } from '../../../src-main/engine/server/server-access';
import { LocalTransport, type Transport } from '../../../src-main/engine/transport';
import { sampleOps } from '../redolog/sample-ops';

let dir: string;
let archive: string;
let target: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redo-copy-'));
  archive = path.join(dir, 'zimbra', 'redolog', 'archive');
  target = path.join(dir, 'target');
  fs.mkdirSync(archive, { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const local = new LocalTransport({ name: 'here' });
/** The same files without the kernel copy: the path an SSH server takes (streamed, scanned on the way). */
const streamed: Transport = Object.create(local, { copyToLocal: { value: undefined } }) as Transport;

const serverOver = (transport: Transport) =>
  ({
    transport,
    zimbraHome: path.join(dir, 'zimbra'),
    settings: { hostname: 'mail.test' },
  }) as unknown as ServerAccess;

/** An archived log of sequence `seq` whose ops carry the times given. */
async function archived(seq: number, times: number[]): Promise<{ name: string; seq: number }> {
  const name = archiveFileName(1_763_000_000_000 + seq * 1000, seq);
  const writer = await RedoLogFileWriter.create(path.join(archive, name), { seq, serverId: 'srv' });
  const create = sampleOps()[4]!;
  for (const [i, timestamp] of times.entries()) {
    const body = Buffer.alloc(300_000 + i, 0x41 + i);
    writer.append({
      ...create,
      header: { ...create.header, timestamp },
      size: body.length,
      body: { kind: 'inline', length: body.length, data: body },
    } as RedoOp);
  }
  await writer.close();
  return { name, seq };
}

const redologs = () => path.join(target, 'redologs');
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.each([
  ['in the kernel (local server)', local],
  ['streamed (remote server)', streamed],
])('copyLogsToTarget, %s', (_, transport) => {
  it('records the SHA-256 of the bytes in the target and the op times of the records, in order', async () => {
    const logs = [
      await archived(10, [5_000, 4_000, 6_000]),
      await archived(11, [7_000]),
      await archived(12, []),
    ];
    const steps: string[] = [];
    const { copied, stopped } = await copyLogsToTarget(serverOver(transport), target, logs, async (step) => {
      steps.push(step);
    });
    expect(stopped).toBeNull();
    expect(steps).toEqual(['log 10', 'log 11', 'log 12']);
    expect(copied.map((c) => [c.record.seq, c.record.firstOpMs, c.record.lastOpMs])).toEqual([
      [10, 4_000, 6_000],
      [11, 7_000, 7_000],
      [12, null, null],
    ]);
    for (const { record, problems } of copied) {
      const copy = path.join(redologs(), record.name);
      expect(fs.readFileSync(copy).equals(fs.readFileSync(path.join(archive, record.name)))).toBe(true);
      expect(record.sha256).toBe(sha256(copy));
      expect(record.bytes).toBe(fs.statSync(copy).size);
      expect(problems).toEqual([]);
    }
    expect(fs.readdirSync(redologs()).sort()).toEqual(logs.map((l) => l.name).sort());
  });

  it('stops at a log that went, keeping the ones before it and leaving no temp file', async () => {
    const logs = [
      await archived(20, [1]),
      await archived(21, [2]),
      await archived(22, [3]),
      await archived(23, [4]),
    ];
    fs.rmSync(path.join(archive, logs[1]!.name));
    const { copied, stopped } = await copyLogsToTarget(
      serverOver(transport),
      target,
      logs,
      async () => undefined,
    );
    expect(copied.map((c) => c.record.seq)).toEqual([20]);
    expect(stopped?.message).toMatch(/went from .* while it was being copied/);
    expect(fs.readdirSync(redologs())).toEqual([logs[0]!.name]);
  });

  it('reports a log whose header and records disagree, and still copies it', async () => {
    const [log] = [await archived(30, [1, 2])];
    const file = path.join(archive, log!.name);
    const bytes = fs.readFileSync(file);
    bytes.write('XX', 512); // the first record's marker
    bytes.writeBigInt64BE(31n, 16); // the sequence in the header
    fs.writeFileSync(file, bytes);
    const { copied } = await copyLogsToTarget(serverOver(transport), target, [log!], async () => undefined);
    expect(copied[0]!.problems).toEqual([
      expect.stringMatching(
        /^redo-.*-seq30\.log \d+ damaged bytes at offset 512 \(no ZMREDO record marker\)$/,
      ),
      `${log!.name} its header says sequence 31, its name 30`,
    ]);
    expect(copied[0]!.record.sha256).toBe(sha256(file));
  });
});
