import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src-main/cli/main';
import { listAttempts } from '../../src-main/engine/schedule/attempts';
import { cronCommand, cronLine } from '../../src-main/engine/schedule/cron-line';
import { splitShellWords } from '../../src-main/engine/schedule/shell-words';
import { readManifest } from '../../src-main/engine/target/manifest';
import { acquireLock } from '../../src-main/engine/target/lock';
import { sessionDir } from '../../src-main/engine/target/layout';
import { openTransport, type Transport } from '../../src-main/engine/transport';
import type { Lab } from '../../src-main/lab/lab';
import { canConnect, freePort } from '../../src-main/lab/net';
import { MailboxSimulator } from '../../src-main/lab/simulator/simulator';
import { ldapClient, withLab } from '../helpers/lab-fixture';

/**
 * zmschedulebackup against a lab server reached over SSH, and the crontab lines it installs run
 * the way cron runs them. HERMETIC: the server's crontab is the real `crontab` command of this
 * machine, but the sshd the test talks to runs in a private mount namespace (unshare --mount)
 * with a temp dir bind-mounted over /var/spool/cron/crontabs, so every crontab it edits is in
 * that temp dir and the machine's real spool is never written (checked at the end).
 */
const ROOT = path.resolve(__dirname, '../..');
const SPOOL = '/var/spool/cron/crontabs';
let lab: Lab;
let dir: string;
let spool: string;
let target: string;
let sshd: ChildProcess;
let sshPort: number;
let ssh: Transport;
let smtp: SMTPServer;
let smtpPort: number;
const mails: { to: string[]; mail: ParsedMail }[] = [];
let realSpoolBefore: string;
const ADMIN_LINES =
  "# the administrator's own jobs\nMAILTO=root\n17 3 * * * /usr/bin/find /tmp -mtime +7 -delete\n";

/**
 * zmschedulebackup in this process (no tsx start-up per call). Only ever against the namespaced
 * sshd: a command without --server ssh:// would edit this machine's real crontab, so it is refused.
 */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const at = args.indexOf('--server');
  if (at < 0 || !args[at + 1]!.startsWith(`ssh://root@${lab.info.servers[0]!.ssh.host}:${sshPort}`))
    throw new Error(`in-process zmschedulebackup only over the namespaced sshd: ${args.join(' ')}`);
  let stdout = '';
  let stderr = '';
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`)),
    vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)),
    vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)),
  ];
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
    process.exitCode = undefined;
  }
}

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What cron does with a line: `sh -c` on the command (after % handling), from $HOME, with cron's environment. */
function runAsCron(line: string) {
  const { command } = cronCommand(line);
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  return run('/bin/sh', ['-c', command], {
    cwd: home,
    env: { HOME: home, LOGNAME: 'root', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' },
  });
}

const serverFlags = () => [
  '--server',
  `ssh://root@${lab.info.servers[0]!.ssh.host}:${sshPort}`,
  '--identity',
  lab.info.servers[0]!.ssh.privateKeyPath,
  '--host-key',
  lab.info.servers[0]!.ssh.hostKeyFingerprint,
  '--zimbra-home',
  lab.info.servers[0]!.zimbraHome,
];

const crontab = async () => (await ssh.exec(['crontab', '-l'])).stdout.toString();
const ourLines = (text: string) => text.split('\n').filter((l) => l.includes("'zmbackup'"));

async function waitForMail(count: number): Promise<void> {
  for (let i = 0; i < 100 && mails.length < count; i++) await new Promise((r) => setTimeout(r, 100));
  expect(mails).toHaveLength(count);
}

beforeAll(async () => {
  realSpoolBefore = spawnSync('ls', ['-la', '--time-style=full-iso', SPOOL]).stdout.toString();
  lab = await withLab({ servers: 1 });
  const server = lab.info.servers[0]!;
  const sim = await MailboxSimulator.open(server, { seed: 'schedule' });
  await sim.provision(['s1', 's2', 's3']);
  await sim.populate(5);
  await sim.close();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-schedule-'));
  target = path.join(dir, 'backup');
  spool = path.join(dir, 'crontabs');
  fs.mkdirSync(spool, { mode: 0o1730 });
  // The lab's own sshd config, on another port, started inside the private mount namespace.
  const config = fs
    .readFileSync(path.join(lab.info.dir, 'server1', 'ssh', 'sshd_config'), 'utf8')
    .replace(/^Port .*$/m, `Port ${(sshPort = await freePort(server.ssh.host))}`)
    .replace(/^PidFile .*$/m, `PidFile ${path.join(dir, 'sshd.pid')}`);
  fs.writeFileSync(path.join(dir, 'sshd_config'), config);
  sshd = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount --bind "$0" ${SPOOL} && exec /usr/sbin/sshd -D -e -f "$1"`,
      spool,
      path.join(dir, 'sshd_config'),
    ],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'sshd.log'), 'a')] },
  );
  for (let i = 0; i < 100 && !(await canConnect(server.ssh.host, sshPort)); i++)
    await new Promise((r) => setTimeout(r, 100));
  ssh = await openTransport({
    kind: 'ssh',
    name: 'lab over namespaced sshd',
    host: server.ssh.host,
    port: sshPort,
    username: 'root',
    privateKeyPath: server.ssh.privateKeyPath,
    hostKeyFingerprint: server.ssh.hostKeyFingerprint,
  });
  expect((await ssh.exec(['crontab', '-'], { input: ADMIN_LINES })).code).toBe(0);

  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        })
        .catch(callback);
    },
  });
  smtpPort = await freePort();
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  // Per-server report settings, where Zimbra keeps them: the server's entry in the directory.
  const ldap = await ldapClient(server);
  await ldap.modify(`cn=${server.hostname},cn=servers,cn=zimbra`, [
    new Change({
      operation: 'replace',
      modification: new Attribute({
        type: 'zimbraBackupReportEmailRecipients',
        values: ['ops@lab.example', 'boss@lab.example'],
      }),
    }),
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'zimbraBackupReportEmailSubjectPrefix', values: ['Lab Backup'] }),
    }),
  ]);
  await ldap.unbind();
});

afterAll(async () => {
  await ssh?.close();
  sshd?.kill('SIGTERM');
  await new Promise<void>((resolve) => smtp?.close(() => resolve()) ?? resolve());
  await lab?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('zmschedulebackup over SSH', () => {
  it("installs Zimbra's default exactly once, after the administrator's lines, and leaves them alone", async () => {
    const args = [
      'zmschedulebackup',
      '-D',
      ...serverFlags(),
      '-t',
      target,
      '--mail-report',
      '--smtp',
      `127.0.0.1:${smtpPort}`,
    ];
    for (let i = 0; i < 2; i++) {
      const result = await cli(args);
      expect(result.code, result.stderr).toBe(0);
    }
    const text = await crontab();
    expect(text.startsWith(ADMIN_LINES)).toBe(true);
    expect(text.match(/# BEGIN mailvault/g)).toHaveLength(1);
    const lines = ourLines(text);
    expect(lines.map((l) => l.split(' ').slice(0, 5).join(' '))).toEqual([
      '0 1 * * 6',
      '0 1 * * 0-5',
      '0 0 * * *',
    ]);
    // The lines run this engine's launcher by its absolute path.
    expect(splitShellWords(cronCommand(lines[0]!).command)[0]).toBe(path.join(ROOT, 'bin/mailvault'));
    // The crontab file is in the private spool, not the machine's.
    expect(fs.readFileSync(path.join(spool, 'root'), 'utf8')).toContain('# BEGIN mailvault');
  });

  it('round-trips through -q and -s: the printed command installs the same crontab again', async () => {
    const before = await crontab();
    const query = await cli(['zmschedulebackup', '-q', '--json', ...serverFlags()]);
    expect(query.code, query.stderr).toBe(0);
    const listed = JSON.parse(query.stdout);
    expect(listed.entries.map((e: { kind: string }) => e.kind)).toEqual(['full', 'incremental', 'delete']);
    expect(listed.entries[0].options).toEqual({ target, mailReport: true, smtp: `127.0.0.1:${smtpPort}` });
    const save = await cli(['zmschedulebackup', '-s', ...serverFlags()]);
    expect(save.code, save.stderr).toBe(0);
    expect(save.stdout.trim()).toBe(listed.command);
    const flush = await cli(['zmschedulebackup', '-F', ...serverFlags()]);
    expect(flush.code, flush.stderr).toBe(0);
    expect(await crontab()).toBe(ADMIN_LINES);
    for (const command of save.stdout.trim().split(' && ')) {
      const [program, ...args] = splitShellWords(command);
      expect(program).toBe('mailvault');
      const again = await cli(args);
      expect(again.code, again.stderr).toBe(0);
    }
    expect(await crontab()).toBe(before);
    const requery = await cli(['zmschedulebackup', '-q', '--json', ...serverFlags()]);
    expect(JSON.parse(requery.stdout).entries).toEqual(listed.entries);
  });

  it.each([
    [['-R', 'f', '0 1 * * 8'], /f: "0 1 \* \* 8": .*8/],
    [['-A', 'd', '3w', '0 0 * * *'], /d 3w: not an age/],
    [['-R', '--frobnicate', 'f', '0 1 * * 6'], /unknown option '--frobnicate'/],
  ])('refuses %j: one line, exit 2, crontab unchanged', async (args, message) => {
    const before = await crontab();
    const result = await cli(['zmschedulebackup', ...args, ...serverFlags()]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^mailvault: /);
    expect(result.stderr).toMatch(message);
    expect(await crontab()).toBe(before);
  });
});

describe('scheduled runs, as cron runs them', () => {
  it('the full backup line writes the session, records the attempt, and mails SUCCESS to the per-server recipients', async () => {
    const [fullLine, incrementalLine] = ourLines(await crontab());
    const result = await runAsCron(fullLine!);
    expect(result.code, result.stderr).toBe(0);
    const [attempt] = await listAttempts(target);
    expect(attempt).toMatchObject({ kind: 'full', status: 'succeeded', exitCode: 0, error: null });
    expect(attempt!.report).toEqual({ sent: true, to: ['ops@lab.example', 'boss@lab.example'], error: null });
    const reading = await readManifest(sessionDir(target, attempt!.labels[0]!));
    expect(reading.state).toBe('complete');
    const manifest = reading.state === 'complete' ? reading.manifest : null;
    expect(manifest!.status).toBe('completed');
    await waitForMail(1);
    const { to, mail } = mails[0]!;
    expect(to).toEqual(['ops@lab.example', 'boss@lab.example']);
    expect(mail.subject).toBe('Lab Backup: SUCCESS');
    expect(mail.text).toContain(`Server: ${lab.info.servers[0]!.hostname}`);
    expect(mail.text).toContain(`Label: ${manifest!.label}`);
    expect(mail.text).toContain('Type: full');
    expect(mail.text).toContain('Status: completed');
    expect(mail.text).toContain(`Accounts: 3/3 done`);
    expect(mail.text).toContain('Errors: none');

    // The incremental line after it: the redo range the session covers is in the mail.
    const incremental = await runAsCron(incrementalLine!);
    expect(incremental.code, incremental.stderr).toBe(0);
    await waitForMail(2);
    const incrMail = mails[1]!.mail;
    expect(incrMail.subject).toBe('Lab Backup: SUCCESS');
    expect(incrMail.text).toContain('Type: incremental');
    expect(incrMail.text).toMatch(/Redo range: (sequence \d+-\d+|none)/);
  });

  it('the delete line runs -del with its age and reports what it removed', async () => {
    const deleteLine = ourLines(await crontab())[2]!;
    expect(splitShellWords(cronCommand(deleteLine).command)).toEqual(expect.arrayContaining(['-del', '1m']));
    const result = await runAsCron(deleteLine);
    expect(result.code, result.stderr).toBe(0);
    expect((await listAttempts(target)).at(-1)).toMatchObject({
      kind: 'delete',
      status: 'succeeded',
      labels: [],
    });
    await waitForMail(3);
    expect(mails[2]!.mail.subject).toBe('Lab Backup: SUCCESS');
    expect(mails[2]!.mail.text).toContain('Operation: delete old backups');
    // Nothing is a month old yet: both sessions stay.
    expect(mails[2]!.mail.text).toContain('Deleted sessions: 0');
  });

  it('a run that finds the target locked exits non-zero, records a failed attempt and mails FAIL naming the error', async () => {
    const [fullLine] = ourLines(await crontab());
    const lock = await acquireLock(target, { operation: 'a restore the test holds' });
    try {
      const result = await runAsCron(fullLine!);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^mailvault: .*in use/m);
    } finally {
      await lock.release();
    }
    const attempts = await listAttempts(target);
    expect(attempts.at(-1)).toMatchObject({ kind: 'full', status: 'failed', exitCode: 1, labels: [] });
    expect(attempts.at(-1)!.error).toMatch(/in use: a restore the test holds/);
    await waitForMail(4);
    expect(mails[3]!.mail.subject).toBe('Lab Backup: FAIL');
    expect(mails[3]!.mail.text).toMatch(/Error: The backup target is in use: a restore the test holds/);
  });

  it('a pulled run whose server is unreachable exits non-zero and mails FAIL naming the server', async () => {
    const closed = await freePort();
    const line = cronLine(
      {
        kind: 'incremental',
        cron: '0 1 * * 0-5',
        options: {
          target,
          mailReport: true,
          mailTo: ['night@lab.example'],
          smtp: `127.0.0.1:${smtpPort}`,
          mailSubjectPrefix: 'Pull',
        },
      },
      {
        kind: 'ssh',
        url: `ssh://root@127.0.0.1:${closed}`,
        identity: lab.info.servers[0]!.ssh.privateKeyPath,
        hostKey: lab.info.servers[0]!.ssh.hostKeyFingerprint,
        zimbraHome: '/opt/zimbra',
      },
      path.join(ROOT, 'bin/mailvault'),
    );
    const result = await runAsCron(line);
    expect(result.code).toBe(1);
    expect((await listAttempts(target)).at(-1)).toMatchObject({
      kind: 'incremental',
      status: 'failed',
      exitCode: 1,
    });
    await waitForMail(5);
    expect(mails[4]!.to).toEqual(['night@lab.example']);
    expect(mails[4]!.mail.subject).toBe('Pull: FAIL');
    expect(mails[4]!.mail.text).toContain(
      `Error: 127.0.0.1 (ssh://root@127.0.0.1:${closed}): cannot connect: connect ECONNREFUSED`,
    );
  });

  it("--pull installs in this machine's crontab (private namespace too), and its line backs up over SSH", async () => {
    const local = path.join(dir, 'local-crontabs');
    fs.mkdirSync(local, { mode: 0o1730 });
    const here = (command: string, args: string[]) =>
      run(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "$0" ${SPOOL} && exec "$@"`,
          local,
          command,
          ...args,
        ],
        {
          cwd: ROOT,
        },
      );
    // The lab's client key with a passphrase (same key pair): cron reads it from a file.
    const encryptedKey = path.join(dir, 'pull-key');
    fs.copyFileSync(lab.info.servers[0]!.ssh.privateKeyPath, encryptedKey);
    fs.chmodSync(encryptedKey, 0o600);
    const reencrypt = spawnSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'pull horse', '-f', encryptedKey]);
    expect(reencrypt.status, String(reencrypt.stderr)).toBe(0);
    const passphraseFile = path.join(dir, 'pull-passphrase');
    fs.writeFileSync(passphraseFile, 'pull horse\n', { mode: 0o600 });
    const pullFlags = serverFlags().map((f) => (f === lab.info.servers[0]!.ssh.privateKeyPath ? encryptedKey : f));
    const installed = await here(process.execPath, [
      '--import',
      'tsx/esm',
      path.join(ROOT, 'src-main/cli/main.ts'),
      'zmschedulebackup',
      '-R',
      '--pull',
      ...pullFlags,
      '--passphrase-file',
      passphraseFile,
      '-t',
      target,
      '--mail-report',
      '--mail-to',
      'pull@lab.example',
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      'i',
      '30 2 * * *',
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    const listing = await here('crontab', ['-l']);
    const [line] = ourLines(listing.stdout);
    expect(listing.stdout).toContain(
      `# BEGIN mailvault zmschedulebackup for ssh://root@${lab.info.servers[0]!.ssh.host}:${sshPort} `,
    );
    expect(splitShellWords(cronCommand(line!).command)).toEqual(
      expect.arrayContaining([
        '-s',
        `ssh://root@${lab.info.servers[0]!.ssh.host}:${sshPort}`,
        '--identity',
        encryptedKey,
        '--passphrase-file',
        passphraseFile,
        '--host-key',
        lab.info.servers[0]!.ssh.hostKeyFingerprint,
      ]),
    );
    expect(listing.stdout).not.toContain('pull horse');
    // The server's crontab did not get it.
    expect(ourLines(await crontab())).toHaveLength(3);
    const result = await runAsCron(line!);
    expect(result.code, result.stderr).toBe(0);
    const attempt = (await listAttempts(target)).at(-1)!;
    expect(attempt).toMatchObject({ kind: 'incremental', status: 'succeeded', exitCode: 0 });
    expect(attempt.labels[0]).toMatch(/^incr-/);
    await waitForMail(6);
    expect(mails[5]!.to).toEqual(['pull@lab.example']);
    expect(mails[5]!.mail.subject).toBe('Lab Backup: SUCCESS');
  });

  it('zmbackup --mail-report by hand, asynchronous: the detached worker mails the report when it ends', async () => {
    const server = lab.info.servers[0]!;
    const started = await run(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        path.join(ROOT, 'src-main/cli/main.ts'),
        'zmbackup',
        '-i',
        '-a',
        'all',
        '-s',
        'local',
        '--zimbra-home',
        server.zimbraHome,
        '-t',
        target,
        '--mail-report',
        '--mail-to',
        'hand@lab.example',
        '--smtp',
        `127.0.0.1:${smtpPort}`,
        '--mail-subject-prefix',
        'By hand',
      ],
      { cwd: ROOT },
    );
    expect(started.code, started.stderr).toBe(0);
    const label = started.stdout.trim();
    expect(label).toMatch(/^incr-/);
    for (let i = 0; i < 600 && mails.length < 7; i++) await new Promise((r) => setTimeout(r, 100));
    await waitForMail(7);
    expect(mails[6]!.to).toEqual(['hand@lab.example']);
    expect(mails[6]!.mail.subject).toBe('By hand: SUCCESS');
    expect(mails[6]!.mail.text).toContain(`Label: ${label}`);
    // Not --unattended: no attempt recorded for it.
    expect((await listAttempts(target)).some((a) => a.labels.includes(label))).toBe(false);
  });

  it('refuses to install lines whose launcher is not on the server (exit 1, crontab unchanged)', async () => {
    const before = await crontab();
    const result = await cli([
      'zmschedulebackup',
      '-A',
      '--launcher',
      '/nonexistent/bin/mailvault',
      'i',
      '0 5 * * *',
      ...serverFlags(),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mailvault: .*\/nonexistent\/bin\/mailvault is not an executable there/);
    expect(await crontab()).toBe(before);
  });

  it("Debian's cron itself runs a line (cron -f in a private namespace: its own spool, no system cron jobs)", async () => {
    // The delete line, every minute: quick, and nothing is a month old. Only this line is in the
    // namespace's spool; /etc/crontab and /etc/cron.d are empty there, so no system job runs.
    const deleteLine = ourLines(await crontab())[2]!;
    const everyMinute = deleteLine.replace(/^0 0 \* \* \* /, '* * * * * ');
    const cronDir = path.join(dir, 'cron');
    for (const sub of ['crontabs', 'cron.d', 'run'])
      fs.mkdirSync(path.join(cronDir, sub), { recursive: true });
    fs.chmodSync(path.join(cronDir, 'crontabs'), 0o1730);
    fs.writeFileSync(path.join(cronDir, 'crontab'), '');
    const inNamespace = [
      `mount --bind "$0/crontabs" ${SPOOL}`,
      'mount --bind "$0/cron.d" /etc/cron.d',
      'mount --bind "$0/crontab" /etc/crontab',
      'mount --bind "$0/run" /run',
      `printf '%s\\n' "$1" | crontab -`,
      'exec cron -f',
    ].join(' && ');
    const mailsBefore = mails.length;
    const attemptsBefore = (await listAttempts(target)).length;
    const cron = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', inNamespace, cronDir, everyMinute],
      {
        stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'cron.log'), 'a')],
      },
    );
    try {
      // cron starts jobs at the top of a minute; the attempt is finished last (after the mail).
      const finished = async () =>
        (await listAttempts(target)).slice(attemptsBefore).some((a) => a.status !== 'running');
      for (let i = 0; i < 1500 && !(await finished()); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      cron.kill('SIGTERM');
    }
    expect(mails.length, fs.readFileSync(path.join(dir, 'cron.log'), 'utf8')).toBeGreaterThan(mailsBefore);
    expect(mails[mailsBefore]!.mail.subject).toBe('Lab Backup: SUCCESS');
    expect(mails[mailsBefore]!.mail.text).toContain('Operation: delete old backups');
    const started = (await listAttempts(target)).slice(attemptsBefore);
    expect(started[0]).toMatchObject({ kind: 'delete', status: 'succeeded', exitCode: 0 });
  }, 180_000);

  it("-F removes only our block, and the machine's real crontab spool was never written", async () => {
    const result = await cli(['zmschedulebackup', '-F', ...serverFlags()]);
    expect(result.code, result.stderr).toBe(0);
    expect(await crontab()).toBe(ADMIN_LINES);
    expect(spawnSync('ls', ['-la', '--time-style=full-iso', SPOOL]).stdout.toString()).toBe(realSpoolBefore);
  });
});
