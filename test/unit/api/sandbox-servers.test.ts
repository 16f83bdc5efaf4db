import { describe, expect, it } from 'vitest';
import type { EventMessage } from '../../../src-main/api/contract';
import { createEventHub } from '../../../src-main/api/events';
import { startSandboxServers, type RunningSandbox } from '../../../src-main/api/sandbox-servers';
import type { LabServerInfo } from '../../../src-main/lab/types';

const labServer: LabServerInfo = {
  hostname: 'mail.lab.test',
  zimbraHome: '/tmp/lab/zimbra',
  mariadb: { socket: '/tmp/lab/mysql.sock', host: '127.0.0.1', port: 17306, user: 'zimbra', password: 'x' },
  ldap: { url: 'ldap://127.0.0.1:1389', bindDn: 'uid=zimbra,cn=admins,cn=zimbra', password: 'x', baseDn: '' },
  ssh: {
    host: '127.0.0.1',
    port: 2222,
    user: 'zimbra',
    privateKeyPath: '/tmp/lab/key',
    hostKeyFingerprint: 'SHA256:x',
  },
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('the sandbox as a server source', () => {
  it('lists the sandbox as starting, then as its lab servers, and says when that changes', async () => {
    const events = createEventHub();
    const seen: EventMessage[] = [];
    events.subscribe((message) => seen.push(message));
    const start = deferred<RunningSandbox>();
    let stopped = 0;
    const sandbox = startSandboxServers(() => start.promise, events);

    expect(sandbox.list()).toMatchObject([{ id: 'lab', status: 'starting', sandbox: true }]);
    start.resolve({ info: { dir: '/tmp/lab', servers: [labServer] }, stop: async () => void stopped++ });
    expect(await sandbox.ready).toMatchObject({ ok: true });
    expect(sandbox.list()).toEqual([
      {
        id: 'lab',
        name: 'Sandbox',
        hostname: 'mail.lab.test',
        access: 'ssh',
        address: 'zimbra@127.0.0.1:2222',
        status: 'online',
        sandbox: true,
      },
    ]);
    expect(seen).toEqual([{ name: 'servers.changed', payload: {} }]);

    await sandbox.stop();
    expect(stopped).toBe(1);
    expect(sandbox.list()).toEqual([]);
  });

  it('shows a failed start as an error with its reason', async () => {
    const sandbox = startSandboxServers(async () => {
      throw new Error('mariadbd not found');
    });
    expect(await sandbox.ready).toEqual({ ok: false, message: 'mariadbd not found' });
    expect(sandbox.list()).toMatchObject([{ status: 'error', detail: 'mariadbd not found' }]);
    await sandbox.stop();
  });

  it('stops a sandbox that finishes starting after stop was asked', async () => {
    const start = deferred<RunningSandbox>();
    let stopped = 0;
    const sandbox = startSandboxServers(() => start.promise);
    const stopping = sandbox.stop();
    start.resolve({ info: { dir: '/tmp/lab', servers: [labServer] }, stop: async () => void stopped++ });
    await stopping;
    expect(stopped).toBe(1);
    expect(sandbox.list()).toEqual([]);
  });
});
