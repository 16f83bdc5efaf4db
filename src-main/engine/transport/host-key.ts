import crypto from 'node:crypto';
import { TransportError } from './types';

/** OpenSSH's fingerprint of a host key blob, as `ssh-keygen -lf` and the first-login prompt print it. */
export function fingerprintOfKey(blob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Lets an administrator paste a fingerprint with or without the "SHA256:" prefix and padding. */
export function normalizeFingerprint(fingerprint: string): string {
  const bare = fingerprint
    .trim()
    .replace(/^SHA256:/i, '')
    .replace(/=+$/, '');
  return `SHA256:${bare}`;
}

export interface HostKeyPolicy {
  /** The pinned fingerprint; the only key accepted when set. */
  hostKeyFingerprint?: string;
  /** Asked when nothing is pinned (trust on first use); the key is refused unless it resolves true. */
  onUnknownHostKey?: (fingerprint: string) => Promise<boolean>;
}

/**
 * The decision on the key a server offers, before any credential is sent to it. Resolves with the
 * accepted fingerprint, or rejects with the error to report: ssh2 itself only says "verification
 * failed", which tells an administrator neither what was expected nor what was offered.
 */
export async function checkHostKey(
  transportName: string,
  policy: HostKeyPolicy,
  blob: Buffer,
): Promise<string> {
  const offered = fingerprintOfKey(blob);
  if (policy.hostKeyFingerprint !== undefined) {
    const expected = normalizeFingerprint(policy.hostKeyFingerprint);
    if (offered === expected) return offered;
    throw new TransportError(
      transportName,
      `the server's host key changed: expected ${expected}, the server offered ${offered}. ` +
        'If the server was reinstalled or its keys replaced, update the pinned fingerprint; otherwise someone may be intercepting the connection.',
      { code: 'HOST_KEY_CHANGED' },
    );
  }
  const unknown = (why: string, cause?: unknown): TransportError =>
    new TransportError(transportName, `host key ${offered} ${why}`, { code: 'HOST_KEY_UNKNOWN', cause });
  if (!policy.onUnknownHostKey) throw unknown('is not trusted: no fingerprint is pinned for this server');
  let accepted: boolean;
  try {
    accepted = await policy.onUnknownHostKey(offered);
  } catch (error) {
    throw unknown(`could not be confirmed: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!accepted) throw unknown('was not accepted');
  return offered;
}
