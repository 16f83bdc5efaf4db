import { safeStorage } from 'electron';
import type { SecretBox } from '../api/secrets';

/**
 * Secrets sealed by Electron's safeStorage (Keychain, DPAPI, libsecret/kwallet). On Linux without
 * a keyring, safeStorage falls back to `basic_text`, a key built into Chromium: that is reported
 * as `weak`, and the server store refuses to use it unless the administrator accepts it.
 * Call after app 'ready' (Linux picks its backend then).
 */
export function safeStorageSecrets(): SecretBox {
  if (!safeStorage.isEncryptionAvailable()) return { ...noBox, kind: 'none' };
  const weak = process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text';
  return {
    kind: weak ? 'weak' : 'encrypted',
    seal: (secret) => safeStorage.encryptString(secret).toString('base64'),
    open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
  };
}

const noBox: SecretBox = {
  kind: 'none',
  seal() {
    throw new Error('No secret storage is available on this system.');
  },
  open() {
    throw new Error('No secret storage is available on this system.');
  },
};
