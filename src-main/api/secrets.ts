/**
 * Where the console may keep secrets (an SSH key's passphrase). The Electron shell supplies one
 * backed by safeStorage (src-main/electron/safe-storage-secrets.ts); the web console has none, so
 * there passphrases are refused and keys must be unencrypted files or held by the SSH agent.
 */
export interface SecretBox {
  /** encrypted: an OS keyring; weak: Linux's basic_text fallback (a hard-coded key); none: nowhere. */
  readonly kind: 'encrypted' | 'weak' | 'none';
  /** Ciphertext as base64. */
  seal(secret: string): string;
  open(sealed: string): string;
}

export const NO_SECRET_BOX: SecretBox = {
  kind: 'none',
  seal() {
    throw new Error('This console cannot store secrets.');
  },
  open() {
    throw new Error('This console cannot read stored secrets.');
  },
};
