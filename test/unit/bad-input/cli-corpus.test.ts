import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../../src-main/engine/target/lock';
import { SessionWriter } from '../../../src-main/engine/target/session-writer';
import { SERVER_ID, tempDir } from '../target/fixtures';
import { HOSTILE, HOSTILE_PATH_TAILS, runCli, shown, snapshotTree } from './cli-harness';

/**
 * Issue 9, bad input: every command and flag of the command line that takes a value, fed shell
 * metacharacters, quotes, control characters, `..`, Unicode, empty and huge values, LDAP filter
 * and SQL injection. Each must give one line `mailvault: …` naming the value, exit status 2, no
 * stack trace, and leave the target exactly as it was (a snapshot of every file and directory).
 */
let root: string;
let target: string;
let label: string;
const PWNED = '/tmp/mv-pwned';

beforeAll(async () => {
  fs.rmSync(PWNED, { force: true });
  root = tempDir('mv-bad-input-');
  target = path.join(root, 'target');
  const lock = await acquireLock(target, { operation: 'test' });
  try {
    const writer = await SessionWriter.create(target, { type: 'full', lock });
    await writer.writeFile('sys/localconfig.xml', '<localconfig/>\n');
    const manifest = await writer.commit({
      server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
      engineVersion: 'test',
      status: 'completed',
      redo: { seq: null, timeMs: null },
      options: { zip: 'store', blobs: true, index: true },
      accounts: [],
      errors: [],
      redoLogs: [],
      endMs: Date.now(),
    });
    label = manifest.label;
  } finally {
    await lock.release();
  }
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

interface Case {
  command: string;
  flag: string;
  kind: string;
  value: string;
  argv: () => string[];
}

const cases: Case[] = [];
const add = (command: string, flag: string, kind: string, value: string, argv: (v: string) => string[]) =>
  cases.push({ command, flag, kind, value, argv: () => argv(value) });
const each = (values: Record<string, string>, fn: (kind: string, value: string) => void) =>
  Object.entries(values).forEach(([kind, value]) => fn(kind, value));
/** As a suffix to a good value, the empty string leaves a good value: not bad input. */
const TAILS = Object.fromEntries(Object.entries(HOSTILE).filter(([, v]) => v !== ''));

const full = (...rest: string[]) => ['zmbackup', '-f', '--sync', ...rest];
const ssh = 'ssh://root@127.0.0.1:1'; // nothing listens there: a value that slips through fails fast

// Accounts (-a): the value alone, as a local part, and as a domain.
each(HOSTILE, (kind, v) => {
  add('zmbackup -f', '-a', kind, v, (x) => full('-a', x, '-t', target));
  add('zmbackup -f', '-a', `${kind} in the local part`, `${v}@example.com`, (x) =>
    full('-a', x, '-t', target),
  );
  add('zmbackup -f', '-a', `${kind} in the domain`, `user@${v}`, (x) => full('-a', x, '-t', target));
});
for (const v of ['user@', '@example.com', 'user@@example.com', 'user@example..com', 'a b@example.com'])
  add('zmbackup -f', '-a', 'malformed address', v, (x) => full('-a', x, '-t', target));

// Targets (-t) of every command that takes one: relative hostile values, and absolute ones.
const targetCommands: Array<[string, (t: string) => string[]]> = [
  ['zmbackup -f', (t) => full('-a', 'all', '-t', t)],
  ['zmbackup -i', (t) => ['zmbackup', '-i', '--sync', '-a', 'all', '-t', t]],
  ['zmbackup -del', (t) => ['zmbackup', '-del', '1d', '-t', t]],
  ['zmbackupabort', (t) => ['zmbackupabort', '-lb', label, '-t', t]],
  ['verify', (t) => ['verify', '-t', t]],
];
for (const [command, argv] of targetCommands) {
  each(HOSTILE, (kind, v) => add(command, '-t', kind, v, argv));
  each(HOSTILE_PATH_TAILS, (kind, v) => add(command, '-t', `absolute, ${kind}`, `/tmp/mv-x${v}`, argv));
}
add('verify', '-t', 'not a target', '/tmp/mv-no-such-target', (t) => ['verify', '-t', t]);
add('zmbackup -del', '-t', 'not a target', '/tmp/mv-no-such-target', (t) => [
  'zmbackup',
  '-del',
  '1d',
  '-t',
  t,
]);

// Servers (-s): the value alone, as a host, as a user, and addresses that are wrong in form.
each(HOSTILE, (kind, v) => {
  add('zmbackup -f', '-s', kind, v, (x) => full('-a', 'all', '-t', target, '-s', x));
  add('zmbackup -f', '-s', `${kind} as the host`, `ssh://root@${v}`, (x) =>
    full('-a', 'all', '-t', target, '-s', x),
  );
  add('zmbackup -f', '-s', `${kind} as the user`, `ssh://${v}@mail.example.com`, (x) =>
    full('-a', 'all', '-t', target, '-s', x),
  );
});
for (const v of [
  'ssh://',
  'ssh://mail.example.com:0',
  'ssh://mail.example.com:99999',
  'ssh://mail.example.com:22x',
  'ssh://mail.example.com/opt/zimbra',
  'ssh://mail.example.com?x=1',
  'ssh://mail.example.com#x',
  'ssh://-oProxyCommand=touch%20%2Ftmp%2Fmv-pwned@mail.example.com',
  'ssh://mail.example.com%3Bid',
  'file:///etc/passwd',
  'http://mail.example.com',
  'local;id',
  'LOCAL',
  'lab:x',
  'lab:-1',
])
  add('zmbackup -f', '-s', 'malformed address', v, (x) => full('-a', 'all', '-t', target, '-s', x));

// Key files, host key fingerprints and the Zimbra home.
each(HOSTILE, (kind, v) =>
  add('zmbackup -f', '--identity', kind, v, (x) =>
    full('-a', 'all', '-t', target, '-s', ssh, '--identity', x),
  ),
);
for (const [kind, v] of [
  ['a directory', '/tmp'],
  ['a device', '/dev/null'],
] as const)
  add('zmbackup -f', '--identity', kind, v, (x) =>
    full('-a', 'all', '-t', target, '-s', ssh, '--identity', x),
  );
each(HOSTILE, (kind, v) => {
  add('zmbackup -f', '--host-key', kind, v, (x) =>
    full('-a', 'all', '-t', target, '-s', ssh, '--host-key', x),
  );
  add('zmbackup -f', '--host-key', `${kind} after SHA256:`, `SHA256:${v}`, (x) =>
    full('-a', 'all', '-t', target, '-s', ssh, '--host-key', x),
  );
});
for (const v of [
  `SHA256:${'A'.repeat(42)}`,
  `SHA256:${'A'.repeat(44)}`,
  `SHA256:${'A'.repeat(43)}\n`,
  `SHA256:${'A'.repeat(43)};id`,
  'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
  `sha256:${'A'.repeat(43)}`,
])
  add('zmbackup -f', '--host-key', 'malformed fingerprint', v, (x) =>
    full('-a', 'all', '-t', target, '-s', ssh, '--host-key', x),
  );
each(HOSTILE, (kind, v) =>
  add('zmbackup -f', '--zimbra-home', kind, v, (x) => full('-a', 'all', '-t', target, '--zimbra-home', x)),
);
each(HOSTILE_PATH_TAILS, (kind, v) =>
  add('zmbackup -f', '--zimbra-home', `absolute, ${kind}`, `/opt/zimbra${v}`, (x) =>
    full('-a', 'all', '-t', target, '--zimbra-home', x),
  ),
);

// Dates, ages and labels for -del; labels for zmbackupabort and verify.
each(HOSTILE, (kind, v) =>
  add('zmbackup -del', '-del', kind, v, (x) => ['zmbackup', '-del', x, '-t', target]),
);
each(TAILS, (kind, v) => {
  add('zmbackup -del', '-del', `${kind} after an age`, `7d${v}`, (x) => [
    'zmbackup',
    '-del',
    x,
    '-t',
    target,
  ]);
  add('zmbackup -del', '-del', `${kind} after a label`, `full-20210101.000000.000${v}`, (x) => [
    'zmbackup',
    '-del',
    x,
    '-t',
    target,
  ]);
});
for (const v of [
  '-1d',
  '1.5d',
  '0x10d',
  '7w',
  '１d',
  '99999999999999999999y',
  '2000000y',
  '2021/02/30',
  '2021/13/01',
  '2021/01/01-25:00:00',
  '2021/1/1',
  '0000/01/01',
  'full-2021',
  'full-20211301.000000.000',
  'incr-20210101.246000.000',
  'full-20210101.000000.000/../x',
  'full-20200101.000000.000', // well-formed, but no such session
  '7d\n',
  ' 7d',
])
  add('zmbackup -del', '-del', 'malformed date, age or label', v, (x) => [
    'zmbackup',
    '-del',
    x,
    '-t',
    target,
  ]);
for (const [command, argv] of [
  ['zmbackupabort', (x: string) => ['zmbackupabort', '-lb', x, '-t', target]],
  ['verify', (x: string) => ['verify', '-lb', x, '-t', target]],
] as const) {
  each(HOSTILE, (kind, v) => add(command, '-lb', kind, v, argv));
  each(TAILS, (kind, v) =>
    add(command, '-lb', `${kind} after a label`, `full-20210101.000000.000${v}`, argv),
  );
  for (const v of [
    'full-2021',
    'full-20211301.000000.000',
    'weekly-20210101.000000.000',
    'FULL-20210101.000000.000',
  ])
    add(command, '-lb', 'malformed label', v, argv);
}
add('verify', '-lb', 'well-formed, but no such session', 'full-20200101.000000.000', (x) => [
  'verify',
  '-lb',
  x,
  '-t',
  target,
]);

/** The line must name the value as the user typed it (escaped, and a huge one by its start). */
function needle(value: string): string {
  const s = shown(value);
  return s.slice(0, Math.min(40, s.length));
}

describe('bad input on the command line', { timeout: 60_000 }, () => {
  it(`has a corpus of at least 400 values over every command and flag (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(400);
    const flags = new Set(cases.map((c) => `${c.command} ${c.flag}`));
    for (const f of [
      'zmbackup -f -a',
      'zmbackup -f -t',
      'zmbackup -i -t',
      'zmbackup -f -s',
      'zmbackup -f --identity',
      'zmbackup -f --host-key',
      'zmbackup -f --zimbra-home',
      'zmbackup -del -del',
      'zmbackup -del -t',
      'zmbackupabort -lb',
      'zmbackupabort -t',
      'verify -t',
      'verify -lb',
    ])
      expect(flags, f).toContain(f);
  });

  it('refuses every value: one `mailvault:` line naming it, exit 2, no stack trace, the target untouched', async () => {
    const before = snapshotTree(root);
    const problems: string[] = [];
    for (const c of cases) {
      const argv = c.argv();
      const run = await runCli(argv);
      const lines = run.stderr.split('\n').filter((l) => l !== '');
      const what = `${c.command} ${c.flag} (${c.kind}) ${JSON.stringify(c.value.slice(0, 60))}`;
      if (run.code !== 2) problems.push(`${what}: exit ${run.code}: ${run.stderr.slice(0, 300)}`);
      else if (lines.length !== 1)
        problems.push(`${what}: ${lines.length} lines: ${run.stderr.slice(0, 300)}`);
      else if (!lines[0]!.startsWith('mailvault: ')) problems.push(`${what}: ${lines[0]}`);
      else if (/\n\s+at |Error:/.test(run.stderr)) problems.push(`${what}: a stack trace: ${run.stderr}`);
      else if (c.value !== '' && !lines[0]!.includes(needle(c.value)) && !lines[0]!.includes(c.flag))
        problems.push(`${what}: does not name the value: ${lines[0]}`);
      if (run.stdout !== '') problems.push(`${what}: printed on stdout: ${run.stdout.slice(0, 200)}`);
      if (lines[0] && lines[0].length > 400) problems.push(`${what}: a ${lines[0].length}-character line`);
    }
    expect(problems).toEqual([]);
    expect(snapshotTree(root)).toEqual(before);
    expect(fs.existsSync(PWNED)).toBe(false);
    expect(fs.existsSync('/tmp/mv-no-such-target')).toBe(false);
  }, 120_000);

  it('is not so strict that good values fail: the same target verifies, also from a Unicode path', async () => {
    const ok = await runCli(['verify', '-t', target]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('All intact.');
    const unicode = path.join(root, 'sauvegarde-été-用户');
    fs.cpSync(target, unicode, { recursive: true });
    const again = await runCli(['verify', '-t', unicode, '-lb', label, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).intact).toBe(true);
    const dry = await runCli(['zmbackup', '-del', '1d', '-t', target, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, sessions: [] });
  });

  it('an unknown option or a missing value on any command or subcommand: one line, exit 2', async () => {
    for (const argv of [
      ['zmbackup', '--bogus'],
      ['zmbackup', '-f', '-a', 'all', '-t'],
      ['zmbackupabort', '--bogus'],
      ['verify'],
      ['verify', '-t', target, '--bogus'],
      ['lab', 'up', '--bogus'],
      ['no-such-command'],
    ]) {
      const run = await runCli(argv);
      expect(run.code, argv.join(' ')).toBe(2);
      const lines = run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('(Did you mean'));
      expect(lines, argv.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^mailvault: /);
    }
  });

  it('names a password given in an ssh:// address without printing it', async () => {
    const run = await runCli(
      full('-a', 'all', '-t', target, '-s', 'ssh://root:Sup3rSecret@mail.example.com'),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ssh://root:***@mail.example.com');
    expect(run.stderr).not.toContain('Sup3rSecret');
  });
});
