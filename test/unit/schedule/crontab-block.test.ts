import { describe, expect, it } from 'vitest';
import {
  blockKeys,
  CrontabBlockError,
  readBlock,
  writeBlock,
} from '../../../src-main/engine/schedule/crontab-block';

const theirs =
  '# m h dom mon dow command\nMAILTO=ops@example.com\n5 4 * * * /usr/local/bin/rotate  --keep 7\n\n# trailing comment';

describe('the marked block in a crontab', () => {
  it('adds a block after the existing lines and leaves them byte for byte', () => {
    const out = writeBlock(theirs, 'local /opt/zimbra', ['0 1 * * 6 /m zmbackup']);
    expect(out.startsWith(`${theirs}\n`)).toBe(true);
    expect(out.endsWith('\n')).toBe(true);
    expect(readBlock(out, 'local /opt/zimbra')).toEqual(['0 1 * * 6 /m zmbackup']);
    expect(out.split('\n').filter((l) => l.includes('BEGIN mailvault'))).toHaveLength(1);
  });

  it('replaces the block in place and removes only it', () => {
    const once = writeBlock(`${theirs}\n`, 'k', ['a 1', 'a 2']);
    const more = `${once}30 2 * * * /bin/echo after\n`;
    const replaced = writeBlock(more, 'k', ['b 1']);
    expect(readBlock(replaced, 'k')).toEqual(['b 1']);
    expect(replaced.startsWith(`${theirs}\n`)).toBe(true);
    expect(replaced.endsWith('30 2 * * * /bin/echo after\n')).toBe(true);
    expect(writeBlock(replaced, 'k', null)).toBe(`${theirs}\n30 2 * * * /bin/echo after\n`);
  });

  it('keeps one block per server key', () => {
    const two = writeBlock(writeBlock('', 'local /opt/zimbra', ['x']), 'ssh://root@b /opt/zimbra', ['y']);
    expect(blockKeys(two)).toEqual(['local /opt/zimbra', 'ssh://root@b /opt/zimbra']);
    expect(readBlock(writeBlock(two, 'local /opt/zimbra', null), 'ssh://root@b /opt/zimbra')).toEqual(['y']);
    expect(readBlock(two, 'other')).toBeNull();
  });

  it('refuses a damaged block rather than guessing', () => {
    const good = writeBlock('', 'k', ['x']);
    const noEnd = good.replace(/# END.*\n/, '');
    expect(() => readBlock(noEnd, 'k')).toThrow(CrontabBlockError);
    expect(() => writeBlock(noEnd, 'k', null)).toThrow(/damaged/);
    expect(() => writeBlock(`${good}${good}`, 'k', ['z'])).toThrow(/2 BEGIN and 2 END/);
  });

  it('removing a block that is not there changes nothing', () => {
    expect(writeBlock(theirs, 'k', null)).toBe(theirs);
  });
});
