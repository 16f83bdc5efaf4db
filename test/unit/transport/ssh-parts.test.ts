import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChannelLimiter } from '../../../src-main/engine/transport/channel-limiter';
import {
  FIND_PRINTF,
  FindRecordParser,
  findTimeToMs,
  paxTimeToMs,
  onlyMissingErrors,
} from '../../../src-main/engine/transport/find-records';
import {
  checkHostKey,
  fingerprintOfKey,
  normalizeFingerprint,
} from '../../../src-main/engine/transport/host-key';
import { channelOutcome, exitStatus } from '../../../src-main/engine/transport/ssh-exec';
import type { SshLink } from '../../../src-main/engine/transport/ssh-link';
import { tarProblems } from '../../../src-main/engine/transport/ssh-read-files';
import { TransportError } from '../../../src-main/engine/transport/types';
import { EventEmitter, PassThrough } from 'node:stream';
import { fingerprintOf } from '../../../src-main/lab/sshd';

/** The pieces of SshTransport that need no server: parsing, the channel limit, host key checks. */
describe('find output', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-find-'));
  fs.writeFileSync(path.join(dir, 'a\nnewline'), 'x');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', "q'uote d"), 'hello');
  const output = execFileSync('find', [dir, '-type', 'f', '-printf', FIND_PRINTF]);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses real GNU find output into node:fs values, whatever the chunking', () => {
    for (const chunkSize of [1, 3, 7, 64, output.length]) {
      const parser = new FindRecordParser();
      for (let i = 0; i < output.length; i += chunkSize) parser.push(output.subarray(i, i + chunkSize));
      const records = parser.end().sort((a, b) => a.info.path.localeCompare(b.info.path));
      expect(records.map((r) => r.info.path)).toEqual(['a\nnewline', "sub/q'uote d"]);
      for (const { type, info } of records) {
        const st = fs.lstatSync(path.join(dir, info.path));
        expect(type).toBe('f');
        expect(info).toEqual({
          path: info.path,
          size: st.size,
          mtimeMs: st.mtimeMs,
          ino: st.ino,
          dev: st.dev,
          nlink: st.nlink,
          isDirectory: false,
        });
      }
    }
  });

  it('refuses output cut off in the middle of a record', () => {
    const parser = new FindRecordParser();
    parser.push(output.subarray(0, output.length - 2));
    expect(() => parser.end()).toThrow(/middle of a record/);
  });

  it('converts %T@ exactly as Node computes mtimeMs', () => {
    expect(findTimeToMs('1795426731.9329003070')).toBe(1795426731 * 1e3 + 932900307 / 1e6);
    expect(findTimeToMs('12')).toBe(12_000);
    // find prints tv_sec, then tv_nsec as the fraction: -1.75 s is "-2.2500000000" (Node: -1750).
    expect(findTimeToMs('-2.2500000000')).toBe(-1750);
    // A pax header's mtime is a plain decimal number.
    expect(paxTimeToMs('-1.75')).toBe(-1750);
    expect(paxTimeToMs('-2')).toBe(-2000);
    expect(paxTimeToMs('1795426731.932900307')).toBe(1795426731 * 1e3 + 932900307 / 1e6);
  });

  it('recognises "does not exist" errors only', () => {
    expect(onlyMissingErrors("find: '/x': No such file or directory\n")).toBe(true);
    expect(onlyMissingErrors("find: '/etc/passwd/x': Not a directory\n")).toBe(true);
    expect(onlyMissingErrors("find: '/root': Permission denied\n")).toBe(false);
  });
});

describe('exec outcome', () => {
  /** Just what channelOutcome uses of an ssh2 channel and of the link. */
  function standIns() {
    const channel = Object.assign(new EventEmitter(), {
      stderr: new PassThrough(),
      end: () => undefined,
      close: () => undefined,
    });
    const link = {
      onDeath: () => () => undefined,
      failure: (action: string, error: Error) => new TransportError('srv', `${action}: ${error.message}`),
    };
    return { channel, link: link as unknown as SshLink };
  }

  it('takes the exit status from close when it came before anyone listened for exit', async () => {
    // ssh2 emits 'exit' while handling the packets of one TCP read, possibly before the caller's
    // listener is attached; its 'close' then carries the recorded status.
    const { channel, link } = standIns();
    const outcome = channelOutcome(link, channel as never, 'find', {});
    channel.emit('close', 3);
    await expect(outcome).resolves.toEqual({ code: 3, stderr: '' });
    const killed = standIns();
    const byPipe = channelOutcome(killed.link, killed.channel as never, 'tar', {});
    killed.channel.emit('close', null, 'SIGPIPE');
    await expect(byPipe).resolves.toEqual({ code: 141, stderr: '' });
  });

  it('fails, naming the program, when the channel closed with no status at all', async () => {
    const { channel, link } = standIns();
    const outcome = channelOutcome(link, channel as never, 'find', {});
    channel.emit('close');
    await expect(outcome).rejects.toThrow('find ended without an exit status');
  });

  it('reads signals named either way', () => {
    expect(exitStatus(null, 'KILL')).toBe(137);
    expect(exitStatus(null, 'SIGKILL')).toBe(137);
    expect(exitStatus(0, undefined)).toBe(0);
  });
});

describe('tar stderr', () => {
  it('accepts vanished and growing files, not shrinking or unreadable ones', () => {
    const vanished =
      'tar: /s/gone: Cannot stat: No such file or directory\ntar: Exiting with failure status due to previous errors\n';
    expect(tarProblems(2, vanished)).toBeNull();
    expect(tarProblems(1, 'tar: /s/redo.log: file changed as we read it\n')).toBeNull();
    expect(tarProblems(0, "tar: Removing leading `/' from member names\n")).toBeNull();
    expect(tarProblems(1, 'tar: /s/x: File shrank by 990 bytes; padding with zeros\n')).toMatch(/shrank/);
    expect(tarProblems(2, 'tar: /s/y: Cannot open: Permission denied\n')).toMatch(/Permission denied/);
    expect(tarProblems(127, 'sh: 1: tar: not found\n')).toMatch(/not found/);
    expect(tarProblems(127, '')).toBe('tar exited with status 127');
  });
});

describe('ChannelLimiter', () => {
  it('grants up to its capacity and queues the rest in order', async () => {
    const limiter = new ChannelLimiter(2);
    const signal = new AbortController().signal;
    const first = await limiter.acquire(signal);
    await limiter.acquire(signal);
    const order: number[] = [];
    const third = limiter.acquire(signal).then((release) => (order.push(3), release));
    const fourth = limiter.acquire(signal).then((release) => (order.push(4), release));
    expect([limiter.active, limiter.queued]).toEqual([2, 2]);
    first();
    first(); // a second release of the same slot changes nothing
    (await third)();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(limiter.active).toBe(2);
  });

  it('rejects waiters when the signal aborts', async () => {
    const limiter = new ChannelLimiter(1);
    const controller = new AbortController();
    await limiter.acquire(controller.signal);
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('connection lost'));
    await expect(waiting).rejects.toThrow('connection lost');
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('connection lost');
    expect(limiter.queued).toBe(0);
  });
});

describe('host keys', () => {
  const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');

  it('computes the fingerprint OpenSSH prints', () => {
    const fingerprint = fingerprintOfKey(blob);
    expect(fingerprint).toBe(fingerprintOf(`ssh-ed25519 ${blob.toString('base64')} comment`));
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(normalizeFingerprint(`${fingerprint.slice(7)}=`)).toBe(fingerprint);
  });

  it('accepts the pinned key, and refuses another one naming both', async () => {
    const fingerprint = fingerprintOfKey(blob);
    await expect(checkHostKey('h', { hostKeyFingerprint: fingerprint }, blob)).resolves.toBe(fingerprint);
    const other = fingerprintOfKey(Buffer.from('other'));
    await expect(checkHostKey('h', { hostKeyFingerprint: other }, blob)).rejects.toThrow(
      `h: the server's host key changed: expected ${other}, the server offered ${fingerprint}`,
    );
  });

  it('refuses an unknown key unless the callback accepts it', async () => {
    await expect(checkHostKey('h', {}, blob)).rejects.toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
    await expect(checkHostKey('h', { onUnknownHostKey: async () => false }, blob)).rejects.toThrow(
      /was not accepted/,
    );
    await expect(
      checkHostKey('h', { onUnknownHostKey: () => Promise.reject(new Error('no tty')) }, blob),
    ).rejects.toThrow(/could not be confirmed: no tty/);
    await expect(checkHostKey('h', { onUnknownHostKey: async () => true }, blob)).resolves.toBe(
      fingerprintOfKey(blob),
    );
  });
});
