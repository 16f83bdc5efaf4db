import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoteArgv } from '../../../src-main/engine/transport/shell-quote';

/**
 * What a program receives when sh runs our command line, as sshd does with `$SHELL -c <line>`:
 * the line is `sh -c 'printf "%s\0" "$@"' sh <quoted>`, which prints each argument NUL-terminated.
 */
function argsSeenBySh(quoted: string): string[] {
  const line = `sh -c 'printf "%s\\0" "$@"' sh ${quoted}`;
  const result = spawnSync('/bin/sh', ['-c', line], { encoding: 'buffer' });
  expect(result.status, result.stderr.toString()).toBe(0);
  const out = result.stdout.toString('utf8');
  return out === '' ? [] : out.slice(0, -1).split('\0');
}

const hostile = [
  'plain',
  'with space',
  '  leading and trailing  ',
  "it's",
  "''",
  "'",
  '"double" quotes',
  '$(touch /tmp/mailvault-pwned)',
  '`touch /tmp/mailvault-pwned`',
  '${HOME} $HOME $1 $@ $*',
  'line one\nline two\n',
  '\ttab',
  '',
  '*',
  '~root',
  'a;b|c&d>e<f',
  '\\back\\slash\\',
  '-n',
  '!event',
  'ünïcödé ✓',
  'mixed \'single\' and "double" and $(cmd) and `cmd` and \\',
];

describe('quoteArg', () => {
  it('wraps in single quotes and escapes embedded ones', () => {
    expect(quoteArg('abc')).toBe("'abc'");
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
  });

  it('rejects NUL bytes', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
  });
});

describe('quoteArgv through a real sh', () => {
  it.each(hostile.map((value) => [JSON.stringify(value), value]))('%s arrives unchanged', (_label, value) => {
    expect(argsSeenBySh(quoteArgv([value]))).toEqual([value]);
  });

  it('keeps every argument of a long hostile argv apart and in order', () => {
    expect(argsSeenBySh(quoteArgv(hostile))).toEqual(hostile);
  });

  it('runs the program with exactly these arguments (sh -c)', () => {
    const argv = ['printf', '%s\\0', ...hostile];
    const result = spawnSync('/bin/sh', ['-c', quoteArgv(argv)], { encoding: 'buffer' });
    expect(result.status).toBe(0);
    expect(result.stdout.toString('utf8').split('\0').slice(0, -1)).toEqual(hostile);
  });

  it('never executes command substitutions', () => {
    const marker = `/tmp/mailvault-quote-${process.pid}`;
    const argv = ['echo', `$(touch ${marker})`, `\`touch ${marker}\``];
    const result = spawnSync('/bin/sh', ['-c', quoteArgv(argv)], { encoding: 'utf8' });
    expect(result.stdout).toBe(`$(touch ${marker}) \`touch ${marker}\`\n`);
    expect(spawnSync('test', ['-e', marker]).status).toBe(1);
  });

  it('rejects an empty argv and NUL bytes anywhere', () => {
    expect(() => quoteArgv([])).toThrow(/empty command/);
    expect(() => quoteArgv(['echo', 'ok', 'bad\0'])).toThrow(/NUL/);
  });
});
