import { describe, expect, it } from 'vitest';
import { cronLine, cronCommand, parseCronLine } from '../../../src-main/engine/schedule/cron-line';
import {
  CronExpressionError,
  nextCronTimes,
  validateCron,
} from '../../../src-main/engine/schedule/cron-expression';
import {
  defaultSchedule,
  type ScheduledServer,
  type ScheduleEntry,
} from '../../../src-main/engine/schedule/schedule';
import { splitShellWords } from '../../../src-main/engine/schedule/shell-words';
import {
  formatSchedule,
  parseEntries,
  saveCommand,
  ScheduleSyntaxError,
} from '../../../src-main/engine/schedule/zimbra-syntax';

const local: ScheduledServer = { kind: 'local', zimbraHome: '/opt/zimbra' };
const pull: ScheduledServer = {
  kind: 'ssh',
  url: 'ssh://root@mail.example.com:2222',
  identity: '/root/.ssh/id_ed25519',
  hostKey: 'SHA256:' + 'A'.repeat(43),
  zimbraHome: '/opt/zimbra',
};
const pullWithPassphrase: ScheduledServer = {
  ...pull,
  identity: "/root/keys/it's encrypted",
  passphraseFile: '/root/keys/pass phrase; $(id)',
};

describe('zmschedulebackup entries', () => {
  it("reads Zimbra's example: f, i and d with an age, each with the options given", () => {
    const entries = parseEntries(['f', '0 1 * * 7', 'i', '0 1 * * 1-6', 'd', '1m', '0 0 * * *'], {
      target: '/backup',
    });
    expect(entries).toEqual([
      { kind: 'full', cron: '0 1 * * 7', options: { target: '/backup' } },
      { kind: 'incremental', cron: '0 1 * * 1-6', options: { target: '/backup' } },
      { kind: 'delete', cron: '0 0 * * *', age: '1m', options: { target: '/backup' } },
    ]);
  });

  it('normalizes the spacing of a cron expression', () => {
    expect(parseEntries(['f', ' 0  1 * *\t6 '], {})[0]!.cron).toBe('0 1 * * 6');
  });

  it.each([
    [['x', '0 1 * * 6'], /x: not a backup type/],
    [['f'], /f: give the schedule/],
    [['d', '0 0 * * *'], /d 0 0 \* \* \*: not an age/],
    [['d', '5w', '0 0 * * *'], /d 5w: not an age/],
    [['d', '0d', '0 0 * * *'], /d 0d: not an age/],
    [['d', '1m'], /d: give the schedule/],
    [['f', '0 1 * *'], /five fields/],
    [['f', '0 1 * * * *'], /five fields/],
    [['i', '61 1 * * *'], /61/],
    [['i', '0 24 * * *'], /24/],
    [['i', '0 1 * * 8'], /8/],
    [['i', '0 1 32 * *'], /32/],
    [['i', '0 1 L * *'], /bad day of month field "L"/],
    [['i', '0 1 * * 5#2'], /bad day of week field "5#2"/],
    [['i', '0 1 ? * *'], /bad day of month/],
    [['i', '@daily'], /five fields/],
    [['i', '0 1 * * 1/x'], /bad day of week/],
  ])('refuses %j naming the bad value', (words, message) => {
    expect(() => parseEntries(words, {})).toThrow(ScheduleSyntaxError);
    expect(() => parseEntries(words, {})).toThrow(message);
  });

  it('takes what Vixie cron takes: names, lists, ranges, steps, 7 for Sunday', () => {
    for (const e of ['0 1 * * sun', '*/15 0-6,22 1,15 jan-jun mon-fri', '0 1 * * 7', '0 0 1 */3 *'])
      expect(validateCron(e)).toBe(e);
    expect(() => validateCron('0 1 * * 6 *')).toThrow(CronExpressionError);
  });

  it("gives the next runs of Zimbra's default in local time", () => {
    // Tuesday 1 December 2026, 10:00 local: next full is Saturday 5th 01:00, next incremental Wednesday 2nd 01:00.
    const from = new Date(2026, 11, 1, 10, 0).getTime();
    expect(nextCronTimes('0 1 * * 6', from, 2)).toEqual([
      new Date(2026, 11, 5, 1, 0).getTime(),
      new Date(2026, 11, 12, 1, 0).getTime(),
    ]);
    expect(nextCronTimes('0 1 * * 0-5', from, 1)).toEqual([new Date(2026, 11, 2, 1, 0).getTime()]);
  });
});

describe('printing a schedule', () => {
  it('prints -q as Zimbra does, each entry with its options', () => {
    const text = formatSchedule(
      defaultSchedule({ accounts: ['a@x.example', 'b@x.example'], mailReport: true }),
    );
    expect(text).toBe(
      'Current Schedule:\n\n' +
        '\tf 0 1 * * 6 -a a@x.example,b@x.example --mail-report\n' +
        '\ti 0 1 * * 0-5 -a a@x.example,b@x.example --mail-report\n' +
        '\td 1m 0 0 * * * -a a@x.example,b@x.example --mail-report\n',
    );
    expect(formatSchedule([])).toContain('(none)');
  });

  it('prints -s as one command, grouping entries with the same options, that parses back to the same entries', () => {
    const entries: ScheduleEntry[] = [
      ...defaultSchedule({ target: '/backup dir', zip: 'deflate' }),
      {
        kind: 'incremental',
        cron: '30 12 * * 1-5',
        options: { mailReport: true, mailSubjectPrefix: "Ops' report" },
      },
    ];
    const line = saveCommand(entries, local);
    const commands = line.split(' && ');
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^mailvault zmschedulebackup -R /);
    expect(commands[1]).toMatch(/^mailvault zmschedulebackup -A /);
    // What sh hands the program is what parseEntries reads back (options as the CLI parses them).
    const back = commands.flatMap((command) => {
      const words = splitShellWords(command);
      const first = words.findIndex((w) => ['f', 'i', 'd'].includes(w));
      return parseEntries(words.slice(first), {});
    });
    expect(back.map(({ kind, cron, age }) => ({ kind, cron, age }))).toEqual(
      entries.map(({ kind, cron, age }) => ({ kind, cron, age })),
    );
    expect(splitShellWords(commands[0]!)).toEqual(expect.arrayContaining(['-t', '/backup dir', '--zip']));
    expect(splitShellWords(commands[1]!)).toEqual(
      expect.arrayContaining(['--mail-subject-prefix', "Ops' report"]),
    );
  });

  it('prints -s of an empty schedule as a flush', () => {
    expect(saveCommand([], local)).toBe('mailvault zmschedulebackup -F --zimbra-home /opt/zimbra');
  });
});

describe('crontab lines', () => {
  const hostile: ScheduleEntry = {
    kind: 'full',
    cron: '0 1 * * 6',
    options: {
      accounts: ['a@x.example'],
      target: "/backups/it's $(here) `now` 100%",
      zip: 'none',
      excludeSearchIndex: true,
      mailReport: true,
      mailTo: ['ops@x.example', 'boss@x.example'],
      mailFrom: 'backup@x.example',
      smtp: '127.0.0.1:2525',
      mailSubjectPrefix: '50% "done"; rm -rf /',
    },
  };

  it.each([
    ['local', local],
    ['pull', pull],
    ['pull, encrypted key', pullWithPassphrase],
  ] as const)('writes and reads back every option (%s), whatever the values hold', (_name, server) => {
    for (const entry of [hostile, ...defaultSchedule()]) {
      const line = cronLine(entry, server, '/opt/mail vault/bin/mailvault');
      expect(line.split('\n')).toHaveLength(1);
      const back = parseCronLine(line);
      expect(back.entry).toEqual(entry);
      expect(back.server).toEqual(server);
      expect(back.launcher).toBe('/opt/mail vault/bin/mailvault');
    }
  });

  it('escapes % for cron, and the command cron hands sh is the quoted argv', () => {
    const line = cronLine(hostile, local, '/usr/bin/mailvault');
    expect(line).not.toMatch(/[^\\]%/);
    const { cron, command } = cronCommand(line);
    expect(cron).toBe('0 1 * * 6');
    const words = splitShellWords(command);
    expect(words.slice(0, 6)).toEqual([
      '/usr/bin/mailvault',
      'zmbackup',
      '--unattended',
      '--sync',
      '-f',
      '-a',
    ]);
    expect(words).toContain("/backups/it's $(here) `now` 100%");
  });

  it('runs incrementals and fulls with -a all unless accounts are given, and delete with -del <age>', () => {
    const [f, i, d] = defaultSchedule().map((e) =>
      splitShellWords(cronCommand(cronLine(e, local, '/m')).command),
    );
    expect(f).toEqual([
      '/m',
      'zmbackup',
      '--unattended',
      '--sync',
      '-f',
      '-a',
      'all',
      '-s',
      'local',
      '--zimbra-home',
      '/opt/zimbra',
    ]);
    expect(i!.slice(4, 7)).toEqual(['-i', '-a', 'all']);
    expect(d!.slice(4, 6)).toEqual(['-del', '1m']);
  });

  it('refuses a value with a line break (a crontab line cannot hold one)', () => {
    expect(() => cronLine({ ...hostile, options: { target: '/a\nb' } }, local, '/m')).toThrow(/line break/);
  });

  it('refuses to read lines it did not write', () => {
    expect(() => parseCronLine('0 1 * * * /usr/bin/true')).toThrow(/not a zmbackup command/);
    expect(() => parseCronLine("0 1 * * * '/m' 'zmbackup' '-f' '--bogus'")).toThrow(
      /unexpected argument --bogus/,
    );
    expect(() => parseCronLine("0 1 * * * '/m' 'zmbackup' '-f' '-a' 'all' 50%")).toThrow(/unescaped %/);
    expect(() => parseCronLine('0 1 * * * /m zmbackup -f; rm -rf /')).toThrow(/not part of a plain command/);
    expect(() => parseCronLine('0 1 * * * /m zmbackup -f -a all')).toThrow(/no --zimbra-home/);
  });
});

describe('report options in the crontab line', () => {
  it('keeps smtps:// and the auth file path (never a password) through the line and back', async () => {
    const { cronLine, parseCronLine } = await import('../../../src-main/engine/schedule/cron-line');
    const entry = {
      kind: 'full' as const,
      cron: '0 1 * * 6',
      options: {
        mailReport: true,
        smtp: 'smtps://relay.x.example',
        smtpAuthFile: '/etc/mailvault/smtp',
        smtpCaFile: '/etc/mailvault/relay-ca.pem',
      },
    };
    const line = cronLine(entry, { kind: 'local', zimbraHome: '/opt/zimbra' }, '/usr/bin/mailvault');
    expect(line).toContain("'--smtp-auth-file' '/etc/mailvault/smtp'");
    expect(line).toContain("'--smtp-ca-file' '/etc/mailvault/relay-ca.pem'");
    expect(parseCronLine(line).entry).toEqual(entry);
  });
});
