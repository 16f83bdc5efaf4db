import { beforeEach, describe, expect, it, vi } from 'vitest';

// safeStorage stubbed: the Linux backend Chromium picked decides whether secrets are "weak".
const storage = vi.hoisted(() => ({ available: true, backend: 'gnome_libsecret' }));
vi.mock('electron', () => ({
  safeStorage: {
    isEncryptionAvailable: () => storage.available,
    getSelectedStorageBackend: () => storage.backend,
    encryptString: (text: string) => Buffer.from(`enc(${text})`),
    decryptString: (data: Buffer) => data.toString().replace(/^enc\((.*)\)$/, '$1'),
  },
}));

const { safeStorageSecrets } = await import('../../../src-main/electron/safe-storage-secrets');

describe('secrets through Electron safeStorage', () => {
  beforeEach(() => Object.assign(storage, { available: true, backend: 'gnome_libsecret' }));

  it('seals and opens with a keyring', () => {
    const box = safeStorageSecrets();
    expect(box.kind).toBe('encrypted');
    const sealed = box.seal('hunter2');
    expect(Buffer.from(sealed, 'base64').toString()).toBe('enc(hunter2)');
    expect(box.open(sealed)).toBe('hunter2');
  });

  it.runIf(process.platform === 'linux')("reports Linux's basic_text fallback as weak", () => {
    storage.backend = 'basic_text';
    expect(safeStorageSecrets().kind).toBe('weak');
  });

  it('has nowhere to keep secrets when encryption is unavailable', () => {
    storage.available = false;
    const box = safeStorageSecrets();
    expect(box.kind).toBe('none');
    expect(() => box.seal('x')).toThrow(/No secret storage/);
  });
});
