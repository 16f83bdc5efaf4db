import { describe, expect, it } from 'vitest';
import {
  flushSchedule,
  installSchedule,
  readSchedule,
} from '../../../src-main/engine/schedule/schedule-store';
import { defaultSchedule, type ScheduledServer } from '../../../src-main/engine/schedule/schedule';
import type { ExecOptions, ExecResult, Transport } from '../../../src-main/engine/transport/types';

/**
 * The store's edits against a crontab held in memory (the real crontab command is exercised over
 * SSH in test/integration/schedule.test.ts): an edit made by someone else between our read and
 * our write is kept, not overwritten.
 */
class MemoryCrontab {
  text = '';
  reads = 0;
  /** Called on each `crontab -l`: lets a test change the crontab behind the store's back. */
  onRead: (n: number) => void = () => undefined;

  transport(): Transport {
    const exec = async (argv: string[], options: ExecOptions = {}): Promise<ExecResult> => {
      if (argv[0] === 'test') return { stdout: Buffer.alloc(0), stderr: '', code: 0 };
      if (argv.at(-1) === '-l') {
        this.onRead(++this.reads);
        return this.text === ''
          ? { stdout: Buffer.alloc(0), stderr: 'no crontab for root\n', code: 1 }
          : { stdout: Buffer.from(this.text), stderr: '', code: 0 };
      }
      if (argv.at(-1) === '-') {
        this.text = String(options.input);
        return { stdout: Buffer.alloc(0), stderr: '', code: 0 };
      }
      throw new Error(`unexpected command ${argv.join(' ')}`);
    };
    return { name: 'memory', exec } as unknown as Transport;
  }
}

const server: ScheduledServer = { kind: 'local', zimbraHome: '/opt/zimbra' };

describe('schedule store', () => {
  it('installs, reads back and flushes a schedule', async () => {
    const crontab = new MemoryCrontab();
    crontab.text = '5 4 * * * /usr/bin/true\n';
    const place = { transport: crontab.transport(), command: ['crontab'] };
    await installSchedule(place, server, defaultSchedule({ target: '/backup' }), '/usr/bin/mailvault');
    const read = await readSchedule(place, server);
    expect(read.entries).toEqual(
      defaultSchedule({ target: '/backup' }).map((e) => ({ ...e, options: { target: '/backup' } })),
    );
    expect(read.launcher).toBe('/usr/bin/mailvault');
    await flushSchedule(place, server);
    expect(crontab.text).toBe('5 4 * * * /usr/bin/true\n');
  });

  it('keeps a line someone else installed between our read and our write', async () => {
    const crontab = new MemoryCrontab();
    crontab.text = '5 4 * * * /usr/bin/true\n';
    crontab.onRead = (n) => {
      if (n === 2) crontab.text += '6 6 * * * /usr/bin/their-job\n'; // after our first read
    };
    const place = { transport: crontab.transport(), command: ['crontab'] };
    await installSchedule(place, server, defaultSchedule(), '/usr/bin/mailvault');
    expect(crontab.text).toContain('/usr/bin/their-job');
    expect(crontab.text).toContain('# BEGIN mailvault');
  });

  it('gives up, writing nothing, on a crontab that keeps changing', async () => {
    const crontab = new MemoryCrontab();
    let writes = 0;
    crontab.onRead = (n) => {
      crontab.text = `# changed ${n}\n`;
    };
    const transport = crontab.transport();
    const counting = {
      ...transport,
      exec: (argv: string[], options?: ExecOptions) => {
        if (argv.at(-1) === '-') writes++;
        return transport.exec(argv, options);
      },
    } as Transport;
    await expect(
      installSchedule({ transport: counting, command: ['crontab'] }, server, defaultSchedule(), '/m'),
    ).rejects.toThrow(/kept changing/);
    expect(writes).toBe(0);
  });
});
