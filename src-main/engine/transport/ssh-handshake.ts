import { Client } from 'ssh2';
import type { SshTransportOptions } from './ssh-link';
import { TransportError } from './types';

type SshError = Error & { level?: string };

/** Decides on the server's host key blob: resolves to accept, rejects with the error to report. */
export type HostKeyDecision = (blob: Buffer) => Promise<void>;

/**
 * Connects and authenticates one ssh2 Client. The host key is decided before any credential is
 * sent; a refusal is reported with the decision's own error, because ssh2 only says "verification
 * failed". Resolves once the client is ready, with no listeners of ours left on it.
 */
export function handshake(
  name: string,
  options: SshTransportOptions,
  decide: HostKeyDecision,
): Promise<Client> {
  const client = new Client();
  let refusal: unknown;
  return new Promise((resolve, reject) => {
    const fail = (error: SshError): void => {
      reject(refusal ?? handshakeError(name, error, options));
      client.end();
    };
    const closedEarly = (): void => fail(new Error('the server closed the connection during the handshake'));
    client.on('error', fail);
    client.once('close', closedEarly);
    client.once('ready', () => {
      client.removeListener('error', fail);
      client.removeListener('close', closedEarly);
      resolve(client);
    });
    try {
      client.connect({
        host: options.host,
        port: options.port ?? 22,
        username: options.username,
        privateKey: options.privateKey,
        passphrase: options.passphrase,
        agent: options.agent,
        keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          decide(key).then(
            () => verify(true),
            (error: unknown) => {
              refusal = error;
              verify(false);
            },
          );
        },
      });
    } catch (error) {
      // ssh2 throws synchronously on an unusable key (wrong passphrase, unsupported format).
      reject(
        new TransportError(name, `cannot use the SSH credentials: ${(error as Error).message}`, {
          code: 'AUTH_FAILED',
          cause: error,
        }),
      );
    }
  });
}

/** Connects only far enough to learn the server's host key blob, then hangs up. */
export async function probeHostKey(name: string, options: SshTransportOptions): Promise<Buffer> {
  let offered: Buffer | undefined;
  const seen = new Error('host key seen');
  try {
    const client = await handshake(name, options, async (blob) => {
      offered = blob;
      throw seen;
    });
    client.end(); // not reached: the key is always refused
  } catch (error) {
    if (error === seen && offered) return offered;
    throw error;
  }
  throw new TransportError(name, 'the server sent no host key');
}

function handshakeError(name: string, error: SshError, options: SshTransportOptions): TransportError {
  const timeout = options.readyTimeoutMs ?? 20_000;
  if (error.level === 'client-authentication')
    return new TransportError(name, `authentication as ${options.username} failed (key or agent refused)`, {
      code: 'AUTH_FAILED',
      cause: error,
    });
  if (error.level === 'client-timeout' || /timed out/i.test(error.message))
    return new TransportError(name, `no SSH handshake within ${timeout} ms`, {
      code: 'TIMEOUT',
      cause: error,
    });
  return new TransportError(name, `cannot connect: ${error.message}`, {
    code: 'CONNECT_FAILED',
    cause: error,
  });
}
