import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Manifest } from '../../../src-main/engine/target/manifest';

/** A fresh directory under the system temp dir; remove it with fs.rmSync(dir, { recursive: true }). */
export function tempDir(prefix = 'mv-target-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const ACCOUNT_ID = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
export const SERVER_ID = 'e00428a1-0c00-11d9-836a-000d93afea2a';
const SHA = 'ab'.repeat(32);

/** A manifest that validates: one full session with one completed account. */
export function validManifest(): Manifest {
  const dir = `accounts/1b4/e28/${ACCOUNT_ID}`;
  return {
    format: 1,
    label: 'full-20210712.155951.123',
    type: 'full',
    server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
    engineVersion: '0.1.0',
    startMs: Date.UTC(2021, 6, 12, 15, 59, 51, 123),
    endMs: Date.UTC(2021, 6, 12, 16, 5, 0, 0),
    status: 'completed',
    redo: { seq: { min: 12, max: 14 }, timeMs: { min: 1626100000000, max: 1626105591123 } },
    options: { zip: 'store', blobs: true, index: true },
    accounts: [
      {
        zimbraId: ACCOUNT_ID,
        email: 'user1@example.com',
        mailboxId: 7,
        status: 'COMPLETED',
        bytes: 300,
        maintenance: { startMs: Date.UTC(2021, 6, 12, 16, 0), endMs: Date.UTC(2021, 6, 12, 16, 1) },
        files: [`${dir}/ldap.ldif`, `${dir}/mailbox.sql`, `${dir}/blobs.zip`],
      },
    ],
    errors: [],
    files: {
      'sys/localconfig.xml': { bytes: 10, sha256: SHA },
      'ldap/directory.ldif': { bytes: 20, sha256: SHA },
      [`${dir}/ldap.ldif`]: { bytes: 100, sha256: SHA },
      [`${dir}/mailbox.sql`]: { bytes: 100, sha256: SHA },
      [`${dir}/blobs.zip`]: { bytes: 100, sha256: SHA },
    },
  };
}
