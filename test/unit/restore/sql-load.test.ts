import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { splitTuple } from '../../../src-main/engine/restore/sql-load';
import { parseLdif } from '../../../src-main/engine/restore/ldif-read';
import { entryToLdif } from '../../../src-main/engine/ldap/ldif';

describe('splitTuple', () => {
  it('splits a dumped row into the literal text of each value, quotes and escapes kept whole', () => {
    const values = [7, 'a, b', "it's", 'semi;colon\nand line', null, Buffer.from([0, 255]), '\\', '"q"'];
    const line = `(${values.map((v) => mysql.escape(v as never)).join(', ')}),`;
    expect(splitTuple(line)).toEqual(values.map((v) => mysql.escape(v as never)));
    expect(splitTuple(`(1, 'x');`)).toEqual(['1', "'x'"]);
  });

  it('refuses what is not a row', () => {
    expect(() => splitTuple('DELETE FROM x;')).toThrow(/not a row/);
    expect(() => splitTuple("(1, 'open),")).toThrow(/unterminated/);
  });
});

describe('parseLdif', () => {
  it('reads back what the engine writes: folded lines, base64 text and bytes', () => {
    const entry = {
      dn: 'uid=ann,ou=people,dc=example,dc=com',
      attributes: {
        objectClass: ['inetOrgPerson', 'zimbraAccount'],
        description: ['x'.repeat(200)],
        displayName: ['Ånn Ümlaut'],
        jpegPhoto: [Buffer.from([0xff, 0xd8, 0x00, 0x01])],
        note: [' leading space'],
      },
    };
    const [read] = parseLdif(entryToLdif(entry));
    expect(read).toEqual(entry);
  });
});
