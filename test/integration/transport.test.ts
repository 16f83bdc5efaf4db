import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTransport, SshTransport, TransportError } from '../../src-main/engine/transport';
import { startSshd, type RunningSshd } from '../../src-main/lab/sshd';
import { transportContract } from '../unit/transport/contract';
import { readAll } from '../unit/transport/fixtures';
import { descendantsOf, signalAll } from '../unit/transport/process-tree';
import { expectLost, optionsFor } from '../unit/transport/ssh-fixtures';

/**
 * SshTransport against a real OpenSSH server on this machine, logged in as the current user, so
 * every remote result can be checked against node:fs on the same files.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-ssh-transport-'));
let sshd: RunningSshd;
let transport: SshTransport;

beforeAll(async () => {
  sshd = await startSshd({
    dir: path.join(work, 'sshd'),
    host: '127.0.0.1',
    logFile: path.join(work, 'sshd.log'),
  });
  transport = await SshTransport.connect(optionsFor(sshd));
});

afterAll(async () => {
  await transport?.close();
  await sshd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('SshTransport over OpenSSH', () => {
  it('names the server with its ssh:// address', () => {
    expect(transport.name).toBe(`lab-mail (ssh://${sshd.user}@127.0.0.1:${sshd.port})`);
  });

  transportContract(() => transport);

  it('is what openTransport returns for an ssh profile with a key file', async () => {
    const opened = await openTransport({
      kind: 'ssh',
      name: 'from-profile',
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKeyPath: sshd.privateKeyPath,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      zimbraHome: '/opt/zimbra',
    });
    expect(opened).toBeInstanceOf(SshTransport);
    expect(opened.name).toBe(`from-profile (ssh://${sshd.user}@127.0.0.1:${sshd.port})`);
    expect((await opened.exec(['echo', 'ok'])).stdout.toString()).toBe('ok\n');
    await opened.close();
    await expect(opened.exec(['true'])).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('hands "$(touch /tmp/pwned)" to the program as a literal', async () => {
    fs.rmSync('/tmp/pwned', { force: true });
    const result = await transport.exec(['echo', '$(touch /tmp/pwned)', '`touch /tmp/pwned`']);
    expect(result.stdout.toString()).toBe('$(touch /tmp/pwned) `touch /tmp/pwned`\n');
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
  });
});

describe('bulk reads', () => {
  const root = path.join(work, 'bulk');
  const digests = new Map<string, string>();
  const sha = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

  beforeAll(() => {
    for (let i = 0; i < 2_000; i++) {
      const rel = `d${i % 25}/msg ${i} 'q'.eml`;
      const data = crypto.randomBytes(i % 97 === 0 ? 0 : 1 + ((i * 131) % 4096));
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), data);
      digests.set(rel, sha(data));
    }
    const big = crypto.randomBytes(5 * 1024 * 1024);
    fs.writeFileSync(path.join(root, 'big.bin'), big);
    digests.set('big.bin', sha(big));
  });

  it('walks 2,001 files in one listing, matching node:fs', async () => {
    const listed = await transport.walk(root);
    expect(listed).toHaveLength(2_001);
    for (const info of listed) {
      const st = fs.lstatSync(path.join(root, info.path));
      expect([info.size, info.mtimeMs, info.ino, info.nlink]).toEqual([
        st.size,
        st.mtimeMs,
        st.ino,
        st.nlink,
      ]);
    }
  });

  it('streams 2,000 small files and a 5 MiB one byte-exact, in the order asked', async () => {
    const order = [...digests.keys()].sort(() => Math.random() - 0.5);
    const seen: string[] = [];
    for await (const entry of transport.readFiles(root, order)) {
      const data = await readAll(entry.content);
      expect(data.length).toBe(entry.size);
      expect(sha(data), entry.path).toBe(digests.get(entry.path));
      seen.push(entry.path);
    }
    expect(seen).toEqual(order);
  });
});

describe('host key pinning', () => {
  it('refuses a server whose key does not match the pinned fingerprint, naming both', async () => {
    const pinned = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const error = await SshTransport.connect(optionsFor(sshd, { hostKeyFingerprint: pinned })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'HOST_KEY_CHANGED' });
    const message = (error as Error).message;
    expect(message).toMatch(/^lab-mail \(ssh:\/\/.*\): the server's host key changed/);
    expect(message).toContain(`expected ${pinned}`);
    expect(message).toContain(`offered ${sshd.hostKeyFingerprint}`);
  });

  it('asks about an unknown key and refuses it unless accepted', async () => {
    const asked: string[] = [];
    const refused = await SshTransport.connect(
      optionsFor(sshd, {
        hostKeyFingerprint: undefined,
        onUnknownHostKey: async (fingerprint) => (asked.push(fingerprint), false),
      }),
    ).catch((e: unknown) => e);
    expect(asked).toEqual([sshd.hostKeyFingerprint]);
    expect(refused).toMatchObject({ code: 'HOST_KEY_UNKNOWN' });
    expect((refused as Error).message).toContain(`host key ${sshd.hostKeyFingerprint} was not accepted`);

    const noPolicy = await SshTransport.connect(optionsFor(sshd, { hostKeyFingerprint: undefined })).catch(
      (e: unknown) => e,
    );
    expect(noPolicy).toMatchObject({ code: 'HOST_KEY_UNKNOWN' });

    const accepted = await SshTransport.connect(
      optionsFor(sshd, { hostKeyFingerprint: undefined, onUnknownHostKey: async () => true }),
    );
    expect(accepted.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect((await accepted.exec(['true'])).code).toBe(0);
    await accepted.close();
  });

  it('waits for a slow answer about an unknown key longer than the handshake timeout', async () => {
    const slowPerson = async (): Promise<boolean> => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return true;
    };
    const accepted = await SshTransport.connect(
      optionsFor(sshd, {
        hostKeyFingerprint: undefined,
        onUnknownHostKey: slowPerson,
        readyTimeoutMs: 1_000,
      }),
    );
    expect(accepted.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    await accepted.close();
  });

  it('reports a key the server does not accept as an authentication failure', async () => {
    const stranger = fs.readFileSync(path.join(work, 'sshd', 'ssh_host_ed25519_key'));
    const error = await SshTransport.connect(optionsFor(sshd, { privateKey: stranger })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect((error as Error).message).toMatch(/^lab-mail \(ssh:.*\): authentication as /);
  });
});

describe('channel limit', () => {
  it('runs 20 parallel execs through the default 8 channels', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        transport.exec(['sh', '-c', 'sleep 0.2; echo "$1"', 'sh', String(i)]),
      ),
    );
    expect(results.map((r) => r.stdout.toString().trim())).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it('never has more session channels open than maxChannels', async () => {
    const limited = await SshTransport.connect(optionsFor(sshd, { maxChannels: 3 }));
    const running = path.join(work, 'running');
    fs.mkdirSync(running);
    // Each command registers itself, counts who else runs, and leaves after a short while.
    const script = 'touch "$1/$2"; ls "$1" | wc -l; sleep 0.2; rm "$1/$2"';
    const counts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limited.exec(['sh', '-c', script, 'sh', running, String(i)])),
    );
    const seen = counts.map((r) => Number(r.stdout.toString().trim()));
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(2);
    await limited.close();
  });
});

describe('a dropped link', () => {
  // A server of its own, so that the processes serving our connection are the only ones below it.
  let dropSshd: RunningSshd;
  const root = path.join(work, 'drop');

  beforeAll(async () => {
    dropSshd = await startSshd({
      dir: path.join(work, 'sshd-drop'),
      host: '127.0.0.1',
      logFile: path.join(work, 'sshd-drop.log'),
    });
    fs.mkdirSync(root, { recursive: true });
    for (let i = 0; i < 4; i++)
      fs.writeFileSync(path.join(root, `big-${i}`), crypto.randomBytes(8 * 1024 * 1024));
  });

  afterAll(async () => {
    signalAll(descendantsOf(dropSshd.pid), 'SIGKILL');
    await dropSshd?.stop();
  });

  it('fails a readFiles in flight, a pending exec and a forwarded stream when the server process dies', async () => {
    const dropping = await SshTransport.connect(optionsFor(dropSshd, { name: 'dying-mail' }));
    const pendingExec = dropping.exec(['sleep', '60']).catch((e: unknown) => e);
    const forwarded = await dropping.connect({ host: '127.0.0.1', port: dropSshd.port });
    const forwardedError = new Promise<unknown>((resolve) => forwarded.once('error', resolve));
    const entries = dropping.readFiles(root, ['big-0', 'big-1', 'big-2', 'big-3'])[Symbol.asyncIterator]();
    const first = (await entries.next()).value!;
    const contentError = new Promise<unknown>((resolve) => first.content.once('error', resolve));
    first.content.pause();

    const killedAt = Date.now();
    signalAll(descendantsOf(dropSshd.pid), 'SIGKILL');
    first.content.resume();
    const [execError, iterationError] = await Promise.all([
      pendingExec,
      entries.next().catch((e: unknown) => e),
    ]);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expectLost(execError, dropping.name);
    expectLost(iterationError, dropping.name);
    expectLost(await contentError, dropping.name);
    expectLost(await forwardedError, dropping.name);
    // And every later call fails at once with the same error.
    await expect(dropping.stat('/')).rejects.toBe(execError);
    await expect(dropping.readFile('/etc/hostname')).rejects.toBe(execError);
    await dropping.close();
  });

  it('notices a server that stops answering through keepalives, without hanging', async () => {
    const frozen = await SshTransport.connect(
      optionsFor(dropSshd, { name: 'frozen-mail', keepaliveIntervalMs: 200, keepaliveCountMax: 2 }),
    );
    await frozen.readFile(path.join(root, 'big-0')); // opens SFTP: a pending SFTP read must fail too
    const pendingExec = frozen.exec(['sleep', '60']).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the command is running
    const serving = descendantsOf(dropSshd.pid);
    signalAll(serving, 'SIGSTOP');
    try {
      const stoppedAt = Date.now();
      const pendingRead = frozen.readFile(path.join(root, 'big-1')).catch((e: unknown) => e);
      const [execError, readError] = await Promise.all([pendingExec, pendingRead]);
      expect(Date.now() - stoppedAt).toBeLessThan(5_000);
      expectLost(execError, frozen.name);
      expectLost(readError, frozen.name);
      expect((execError as Error).message).toContain('no answer to 2 keepalives sent every 200 ms');
    } finally {
      signalAll(serving, 'SIGKILL');
      signalAll(serving, 'SIGCONT');
    }
    await frozen.close();
  });
});
