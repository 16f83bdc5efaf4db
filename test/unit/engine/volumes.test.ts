import { describe, expect, it } from 'vitest';
import { blobPath, indexDir, mailboxGroupDb, type Volume } from '../../../src-main/engine/server/volumes';
import { blobDigest } from '../../../src-main/engine/server/blob-digest';

const volume = (over: Partial<Volume> = {}): Volume => ({
  id: 1,
  type: 1,
  name: 'message1',
  path: '/opt/zimbra/store',
  fileBits: 12,
  fileGroupBits: 8,
  mailboxBits: 12,
  mailboxGroupBits: 8,
  compressBlobs: false,
  compressionThreshold: 4096,
  ...over,
});

describe('Zimbra volume paths', () => {
  it('matches the documented example /opt/zimbra/store/0/11/msg/0/260-110.msg', () => {
    expect(blobPath(volume(), 11, 260, 110)).toBe('/opt/zimbra/store/0/11/msg/0/260-110.msg');
  });

  it('groups large mailbox and item ids by the volume row bits and masks', () => {
    expect(blobPath(volume(), 5000, 9000, 3)).toBe('/opt/zimbra/store/1/5000/msg/2/9000-3.msg');
    // 2^20 >> 12 = 256, masked by 8 bits → 0
    expect(blobPath(volume(), 2 ** 20, 1, 1)).toBe(`/opt/zimbra/store/0/${2 ** 20}/msg/0/1-1.msg`);
    expect(blobPath(volume({ mailboxBits: 4, fileBits: 2, fileGroupBits: 2 }), 40, 13, 1)).toBe(
      '/opt/zimbra/store/2/40/msg/3/13-1.msg',
    );
  });

  it('omits the revision for a negative mod_content', () => {
    expect(blobPath(volume(), 11, 260, -1)).toBe('/opt/zimbra/store/0/11/msg/0/260.msg');
  });

  it('puts the index under <index volume>/<group>/<mailbox>/index/0', () => {
    expect(indexDir(volume({ path: '/opt/zimbra/index', type: 10 }), 11)).toBe(
      '/opt/zimbra/index/0/11/index/0',
    );
  });

  it('maps mailboxes to groups as DbMailbox does (never group 0)', () => {
    expect(mailboxGroupDb(1, 100)).toBe('mboxgroup1');
    expect(mailboxGroupDb(100, 100)).toBe('mboxgroup100');
    expect(mailboxGroupDb(101, 100)).toBe('mboxgroup1');
  });

  it('computes blob digests as FS-safe base64 SHA-256 (44 characters, no slash)', () => {
    const digest = blobDigest(Buffer.from('?>?'.repeat(50)));
    expect(digest).toHaveLength(44);
    expect(digest).not.toContain('/');
    expect(blobDigest(Buffer.alloc(0))).toBe('47DEQpj8HBSa+,TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });
});
