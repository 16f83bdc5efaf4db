import { describe, expect, it } from 'vitest';
import { runCli } from '../bad-input/cli-harness';

/** Bad input to `mailvault standby`: one line naming the value, exit 2, before any server is reached. */
describe('mailvault standby bad input', () => {
  const cases: Array<[string[], RegExp]> = [
    [['standby', 'snapshot', '--standby', 'local'], /give --volume <volume> or --due/],
    [
      ['standby', 'snapshot', '--standby', 'local', '--volume', 'ldap'],
      /--volume ldap: not one of mysql, blobs, index, redolog/,
    ],
    [['standby', 'snapshot', '--standby', 'local', '--volume', 'mysql', '--due'], /--volume and --due/],
    [
      ['standby', 'snapshot', '--standby', 'local', '--due', '--intervals', 'redolog=0m'],
      /--intervals redolog=0m: an interval of 0/,
    ],
    [
      ['standby', 'snapshot', '--standby', 'local', '--due', '--intervals', 'mysql=1d'],
      /--intervals mysql=1d: not <volume>=<n>s\|m\|h/,
    ],
    [['standby', 'snapshot', '--volume', 'mysql'], /required option '--standby <server>'/],
    [
      ['standby', 'snapshot', '--standby', 'local', '--due', '--method', 'lvm'],
      /--method lvm: not auto or copy/,
    ],
    [
      ['standby', 'snapshot', '--standby', 'local', '--due', '--keep-sets', '0'],
      /--keep-sets 0: not a whole number of at least 1/,
    ],
    [
      ['standby', 'snapshot', '--volume', 'mysql', '--standby', 'ftp://x'],
      /-s ftp:\/\/x: use local, ssh:\/\/user@host\[:port\] or lab/,
    ],
    [
      ['standby', 'snapshot', '--volume', 'mysql', '--standby', 'local', '--standby-dir', 'rel'],
      /--standby-dir rel: not an absolute path/,
    ],
    [
      ['standby', 'status', '--standby-dir', '/srv/../etc'],
      /--standby-dir \/srv\/..\/etc: has a "\.\." segment/,
    ],
    [['standby', 'failover', '--at', 'soon'], /--at soon: not a date\/time/],
    [['standby', 'failover', '--failed-at', '2021/13/45 99:00:00'], /--failed-at 2021\/13\/45 99:00:00/],
    [['standby', 'failover', '--threads', '0'], /--threads 0: not a whole number of at least 1/],
    [['standby', 'failover', '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [argv, message] of cases)
    it(argv.slice(1).join(' '), async () => {
      const r = await runCli(argv);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mailvault: /);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
});
