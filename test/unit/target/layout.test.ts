import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InvalidAccountIdError,
  InvalidLabelError,
  UnsafePathError,
} from '../../../src-main/engine/target/errors';
import {
  accountPaths,
  assertSafeRelativePath,
  resolveInside,
  sessionDir,
  systemTableDumpPath,
  targetPaths,
  tmpSessionDir,
} from '../../../src-main/engine/target/layout';
import { ACCOUNT_ID } from './fixtures';

describe('backup target layout', () => {
  it('places sessions, tmp, redologs and the lock under the target', () => {
    expect(targetPaths('/backup')).toEqual({
      root: '/backup',
      sessions: '/backup/sessions',
      tmp: '/backup/tmp',
      redologs: '/backup/redologs',
      lock: '/backup/lock',
    });
    expect(sessionDir('/backup', 'full-20210712.155951.123')).toBe(
      '/backup/sessions/full-20210712.155951.123',
    );
    expect(tmpSessionDir('/backup/', 'incr-20210712.155951.123')).toBe(
      '/backup/tmp/incr-20210712.155951.123',
    );
  });

  it('buckets accounts by the first three and next three characters of the zimbraId', () => {
    const dir = `accounts/1b4/e28/${ACCOUNT_ID}`;
    expect(accountPaths(ACCOUNT_ID)).toEqual({
      dir,
      ldif: `${dir}/ldap.ldif`,
      mailboxSql: `${dir}/mailbox.sql`,
      blobsZip: `${dir}/blobs.zip`,
      blobsDir: `${dir}/blobs`,
      sharedBlobs: `${dir}/blobs-shared.tsv`,
      indexZip: `${dir}/index.zip`,
      indexDir: `${dir}/index`,
    });
    expect(accountPaths(ACCOUNT_ID.toUpperCase()).dir).toBe(dir);
    expect(systemTableDumpPath('mailbox')).toBe('sys/mailbox.sql');
  });

  it('refuses labels that are not labels, so nothing escapes sessions/ or tmp/', () => {
    for (const label of [
      '..',
      '../etc',
      'full-20210712.155951.123/../../x',
      '',
      'full-2021\u0000',
      'sessions',
    ]) {
      expect(() => sessionDir('/backup', label)).toThrow(InvalidLabelError);
      expect(() => tmpSessionDir('/backup', label)).toThrow(InvalidLabelError);
    }
  });

  it('refuses account ids that are not UUIDs', () => {
    for (const id of [
      '..',
      '../../etc/passwd',
      `${ACCOUNT_ID}/..`,
      `${ACCOUNT_ID}\u0000`,
      'user1@example.com',
      '',
      '1b4e28ba2fa111d2883f0016d3cca427',
    ]) {
      expect(() => accountPaths(id)).toThrow(InvalidAccountIdError);
    }
    expect(() => systemTableDumpPath('../mailbox')).toThrow(UnsafePathError);
  });

  it('accepts plain relative paths and refuses escaping ones', () => {
    for (const ok of ['a', 'a/b/c.msg', '..a/b..', 'ü/名前', 'a/.hidden'])
      expect(assertSafeRelativePath(ok)).toBe(ok);
    const bad = [
      '',
      '/etc/passwd',
      '../x',
      'a/../../x',
      'a/..',
      './a',
      'a/./b',
      'a//b',
      'a/',
      'a\\..\\b',
      'C:/x',
      'c:x',
      'a\u0000b',
      'a\nb',
      'x'.repeat(256),
    ];
    for (const value of bad) {
      expect(() => assertSafeRelativePath(value), JSON.stringify(value)).toThrow(UnsafePathError);
      expect(() => resolveInside('/backup', value), JSON.stringify(value)).toThrow(UnsafePathError);
    }
    expect(resolveInside('/backup/s', 'a/b')).toBe(path.join('/backup/s', 'a', 'b'));
  });
});
