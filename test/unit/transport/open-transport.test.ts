import { afterEach, describe, expect, it } from 'vitest';
import { LocalTransport, openTransport, TransportError } from '../../../src-main/engine/transport';

describe('openTransport', () => {
  const savedAgent = process.env.SSH_AUTH_SOCK;
  afterEach(() => {
    if (savedAgent === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedAgent;
  });

  it('opens a local transport', async () => {
    const transport = await openTransport({ kind: 'local', name: 'mail1', zimbraHome: '/opt/zimbra' });
    expect(transport).toBeInstanceOf(LocalTransport);
    expect(transport.name).toBe('mail1');
    await transport.close();
  });

  it('reports an unreadable key file before connecting', async () => {
    const error = await openTransport({
      kind: 'ssh',
      name: 'mail1',
      host: '10.0.0.5',
      username: 'root',
      privateKeyPath: '/nonexistent/key',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(
      /^mail1 \(ssh:\/\/root@10\.0\.0\.5:22\): cannot read the SSH key \/nonexistent\/key/,
    );
  });

  it('says so when there is neither a key nor an agent', async () => {
    delete process.env.SSH_AUTH_SOCK;
    await expect(
      openTransport({ kind: 'ssh', host: 'fe80::1', port: 2222, username: 'zimbra' }),
    ).rejects.toThrow(
      'ssh://zimbra@[fe80::1]:2222: no SSH credentials: no key file is given and SSH_AUTH_SOCK is not set',
    );
  });
});
