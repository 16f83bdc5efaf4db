import crypto from 'node:crypto';

/** Zimbra's blob digest: SHA-256, base64, with '/' made file-system safe as ','. */
export function blobDigest(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('base64').replaceAll('/', ',');
}
