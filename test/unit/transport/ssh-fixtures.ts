import fs from 'node:fs';
import { expect } from 'vitest';
import { TransportError, type SshTransportOptions } from '../../../src-main/engine/transport';
import type { RunningSshd } from '../../../src-main/lab/sshd';

/** Options for SshTransport.connect to a lab sshd, logged in with its client key, its key pinned. */
export function optionsFor(
  server: RunningSshd,
  extra: Partial<SshTransportOptions> = {},
): SshTransportOptions {
  return {
    name: 'lab-mail',
    host: server.host,
    port: server.port,
    username: server.user,
    privateKey: fs.readFileSync(server.privateKeyPath),
    hostKeyFingerprint: server.hostKeyFingerprint,
    ...extra,
  };
}

/** A "<name>: connection lost (…)" TransportError. */
export function expectLost(error: unknown, name: string): void {
  expect(error).toBeInstanceOf(TransportError);
  expect(error).toMatchObject({ code: 'CONNECTION_LOST' });
  expect((error as Error).message).toMatch(
    new RegExp(`^${name.replace(/[()[\]./]/g, '\\$&')}: connection lost \\(`),
  );
}
