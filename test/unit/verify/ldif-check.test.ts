import { describe, expect, it } from 'vitest';
import { checkLdif } from '../../../src-main/engine/verify/ldif-check';

describe('checkLdif', () => {
  it('accepts what ldapadd loads: entries, folded lines, base64 values, comments, version', () => {
    const ldif = [
      'version: 1',
      '# an account',
      'dn: uid=ann,ou=people,dc=example,dc=com',
      'objectClass: inetOrgPerson',
      'description: a long value that was folded',
      '  onto a second line',
      'userPassword:: e1NTSEF9YWJj',
      'userCertificate;binary:: AAEC',
      '',
      'dn: uid=ben,ou=people,dc=example,dc=com',
      'cn: Ben',
      '',
    ].join('\n');
    expect(checkLdif(ldif)).toBeNull();
  });

  it('names the first problem', () => {
    expect(checkLdif('dn: cn=a\ncn: a')).toMatch(/cut-off/);
    expect(checkLdif('cn: a\n')).toBe('line 1 starts an entry without dn:');
    expect(checkLdif(' folded\n')).toBe('line 1 continues nothing');
    expect(checkLdif('dn: cn=a\nthis is not ldif\n')).toBe('line 2 is not "attribute: value"');
    expect(checkLdif('dn: cn=a\nuserPassword:: not*base64\n')).toBe('line 2 has a value that is not base64');
  });
});
