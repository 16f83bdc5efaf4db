import crypto from 'node:crypto';

/** Zimbra's blob digest: SHA-256, base64, with '/' made file-system safe as ','. */
export function blobDigest(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('base64').replaceAll('/', ',');
}

/**
 * The same digest computed off the main thread: WebCrypto hashes a copy of the bytes (taken at
 * the call) in libuv's thread pool. Replay checks every logged body against its digest; on the
 * main thread that was 0.3 s of 2.2 s of a 6,234-op replay (bench/restore.ts), time the other
 * players' ops can use instead.
 */
export async function blobDigestOffThread(data: Buffer): Promise<string> {
  const hash = await crypto.webcrypto.subtle.digest('SHA-256', data);
  return Buffer.from(hash).toString('base64').replaceAll('/', ',');
}
