import fs from 'node:fs';
import { LocalTransport } from './local-transport';
import { sshAddress, type SshTransportOptions } from './ssh-link';
import { SshTransport } from './ssh-transport';
import { TransportError, type Transport } from './types';

/**
 * How a server is reached, as stored in a server's settings. zimbraHome is carried for the
 * callers (the transport itself needs no Zimbra knowledge); name labels every error message.
 */
export type TransportProfile =
  | { kind: 'local'; name?: string; zimbraHome?: string }
  | {
      kind: 'ssh';
      name?: string;
      host: string;
      port?: number;
      username: string;
      privateKeyPath?: string;
      passphrase?: string;
      /** Authenticate with the agent at SSH_AUTH_SOCK; the default when no key file is given. */
      useAgent?: boolean;
      hostKeyFingerprint?: string;
      zimbraHome?: string;
    };

/** What a profile does not hold: the trust-on-first-use prompt and connection tuning. */
export type OpenTransportOptions = Pick<
  SshTransportOptions,
  'onUnknownHostKey' | 'keepaliveIntervalMs' | 'keepaliveCountMax' | 'readyTimeoutMs' | 'maxChannels'
>;

export async function openTransport(
  profile: TransportProfile,
  options: OpenTransportOptions = {},
): Promise<Transport> {
  if (profile.kind === 'local') return new LocalTransport({ name: profile.name });
  const address = sshAddress(profile);
  const name = profile.name ? `${profile.name} (${address})` : address;
  let privateKey: Buffer | undefined;
  if (profile.privateKeyPath !== undefined) {
    try {
      privateKey = fs.readFileSync(profile.privateKeyPath);
    } catch (error) {
      throw new TransportError(
        name,
        `cannot read the SSH key ${profile.privateKeyPath}: ${(error as Error).message}`,
        {
          code: 'AUTH_FAILED',
          cause: error,
        },
      );
    }
  }
  const useAgent = profile.useAgent ?? privateKey === undefined;
  const agent = useAgent ? process.env.SSH_AUTH_SOCK : undefined;
  // Fail here with the reason rather than later with ssh2's generic "all methods failed".
  if (!privateKey && !agent) {
    const why = useAgent
      ? 'no key file is given and SSH_AUTH_SOCK is not set'
      : 'no key file is given and the agent is not to be used';
    throw new TransportError(name, `no SSH credentials: ${why}`, { code: 'AUTH_FAILED' });
  }
  return SshTransport.connect({
    ...options,
    name: profile.name,
    host: profile.host,
    port: profile.port,
    username: profile.username,
    privateKey,
    passphrase: profile.passphrase,
    agent,
    hostKeyFingerprint: profile.hostKeyFingerprint,
  });
}
