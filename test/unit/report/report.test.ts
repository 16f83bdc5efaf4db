import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  reportBody,
  reportSubject,
  type RunReport,
  type SessionSummary,
} from '../../../src-main/engine/report/report-content';
import {
  reportFlags,
  ReportSettingsError,
  resolveReportSettings,
} from '../../../src-main/engine/report/report-settings';
import { sendReport } from '../../../src-main/engine/report/send-report';

const session = (over: Partial<SessionSummary> = {}): SessionSummary => ({
  label: 'incr-20261201.010000.123',
  type: 'incremental',
  status: 'completed',
  startMs: new Date(2026, 11, 1, 1, 0, 0).getTime(),
  endMs: new Date(2026, 11, 1, 1, 2, 3).getTime(),
  redo: {
    seq: { min: 7, max: 12 },
    timeMs: { min: new Date(2026, 10, 30, 1, 0).getTime(), max: new Date(2026, 11, 1, 0, 59).getTime() },
  },
  accountsDone: 5,
  accountsTotal: 5,
  errors: [],
  ...over,
});
const run = (over: Partial<RunReport> = {}): RunReport => ({
  server: 'mail.example.com',
  kind: 'incremental',
  target: '/backup',
  startMs: new Date(2026, 11, 1, 1, 0, 0).getTime(),
  endMs: new Date(2026, 11, 1, 1, 2, 4).getTime(),
  exitCode: 0,
  sessions: [session()],
  error: null,
  ...over,
});

describe('report content', () => {
  it('says SUCCESS only when the run exited 0 with every session completed', () => {
    expect(reportSubject('ZCS Backup Report', run())).toBe('ZCS Backup Report: SUCCESS');
    expect(reportSubject('P', run({ exitCode: 1 }))).toBe('P: FAIL');
    expect(reportSubject('P', run({ sessions: [session({ status: 'completed with errors' })] }))).toBe(
      'P: FAIL',
    );
    expect(reportSubject('P', run({ error: 'x', sessions: [] }))).toBe('P: FAIL');
  });

  it('lists server, label, type, status, start/end, redo range and accounts', () => {
    const body = reportBody(run());
    for (const line of [
      'Server: mail.example.com',
      'Label: incr-20261201.010000.123',
      'Type: incremental',
      'Status: completed',
      'Accounts: 5/5 done',
      'Errors: none',
    ])
      expect(body).toContain(line);
    expect(body).toMatch(/Start: 2026-12-01 01:00:00 [+-]\d{4}/);
    expect(body).toMatch(/End: 2026-12-01 01:02:03 [+-]\d{4}/);
    expect(body).toMatch(/Redo range: sequence 7-12, 2026-11-30 01:00:00 [+-]\d{4} to 2026-12-01 00:59:00/);
  });

  it('lists the first ten errors, then how many more', () => {
    const errors = Array.from({ length: 13 }, (_, i) => `u${i}@x.example: cannot read blob ${i}`);
    const body = reportBody(
      run({ exitCode: 1, sessions: [session({ status: 'completed with errors', accountsDone: 2, errors })] }),
    );
    expect(body).toContain('Errors: 13');
    expect(body).toContain('u9@x.example: cannot read blob 9');
    expect(body).not.toContain('u10@x.example');
    expect(body).toContain('... and 3 more');
    expect(body).toContain('Accounts: 2/5 done');
  });

  it('names the error of a run that wrote no session', () => {
    const body = reportBody(
      run({ exitCode: 1, sessions: [], error: 'The backup target is in use: full backup by process 42' }),
    );
    expect(body).toContain('Result: FAIL (exit status 1)');
    expect(body).toContain('Error: The backup target is in use: full backup by process 42');
    expect(body).toContain('No session was written.');
  });
});

describe('report settings', () => {
  it('reads and checks the flags', () => {
    expect(
      reportFlags({
        mailTo: 'a@x.example, b@x.example',
        smtp: 'smtp.x.example:2525',
        mailFrom: 'f@x.example',
      }),
    ).toEqual({
      to: ['a@x.example', 'b@x.example'],
      host: 'smtp.x.example',
      port: 2525,
      from: 'f@x.example',
    });
    expect(reportFlags({ smtp: '[::1]:25' })).toMatchObject({ host: '::1', port: 25 });
    for (const bad of [
      { mailTo: 'nobody' },
      { mailTo: 'a@x.example,' },
      { smtp: 'host:99999' },
      { smtp: 'a b' },
      { mailFrom: 'x' },
      { mailSubjectPrefix: 'a\nBcc: x@y' },
    ])
      expect(() => reportFlags(bad)).toThrow(ReportSettingsError);
  });

  it('takes flags over the directory over defaults; no recipients means no mail', () => {
    const directory = {
      to: ['dir@x.example'],
      from: 'd@x.example',
      host: 'mta.x.example',
      subjectPrefix: 'ZCS Backup Report',
    };
    expect(resolveReportSettings({ to: ['flag@x.example'] }, directory)).toEqual({
      to: ['flag@x.example'],
      from: 'd@x.example',
      host: 'mta.x.example',
      port: 25,
      subjectPrefix: 'ZCS Backup Report',
    });
    expect(resolveReportSettings({}, {})).toBeNull();
    expect(resolveReportSettings({ to: ['a@x.example'] }, {})).toMatchObject({
      host: 'localhost',
      port: 25,
      subjectPrefix: 'Mailvault Backup Report',
    });
  });
});

describe('sending the report', () => {
  const received: { envelope: { from: string; to: string[] }; mail: ParsedMail }[] = [];
  let smtp: SMTPServer;
  let port: number;
  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((mail) => {
            received.push({
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              mail,
            });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

  it('delivers subject and body over SMTP to every recipient', async () => {
    await sendReport(
      {
        to: ['ops@x.example', 'boss@x.example'],
        from: 'backup@x.example',
        host: '127.0.0.1',
        port,
        subjectPrefix: 'Nightly',
      },
      run({
        exitCode: 1,
        sessions: [session({ status: 'failed', accountsDone: 0, errors: ['LDAP connection closed'] })],
      }),
    );
    expect(received).toHaveLength(1);
    const [{ envelope, mail }] = received as [(typeof received)[0]];
    expect(envelope).toEqual({ from: 'backup@x.example', to: ['ops@x.example', 'boss@x.example'] });
    expect(mail.subject).toBe('Nightly: FAIL');
    expect(mail.text).toContain('Status: failed');
    expect(mail.text).toContain('  - LDAP connection closed');
  });

  it('fails with the SMTP server named when it cannot be reached', async () => {
    await expect(
      sendReport(
        { to: ['a@x.example'], from: 'b@x.example', host: '127.0.0.1', port: 1, subjectPrefix: 'P' },
        run(),
      ),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

describe('SMTP auth and implicit TLS', () => {
  // A relay that wants a login, over TLS from the first byte (port 465 style), with a
  // certificate made for this test: the report logs in and is delivered; a wrong password is not.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-smtps-'));
  const logins: string[] = [];
  const received: ParsedMail[] = [];
  let smtps: SMTPServer;
  let plain: SMTPServer;
  let securePort: number;
  let plainPort: number;
  const authFile = path.join(dir, 'smtp-auth');

  const listen = async (server: SMTPServer) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.server.address() as { port: number }).port;
  };

  beforeAll(async () => {
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ]);
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
    const common = {
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(
        auth: { username?: string; password?: string },
        _s: unknown,
        cb: (e: Error | null, r?: { user: string }) => void,
      ) {
        logins.push(String(auth.username));
        if (auth.username === 'reports' && auth.password === 's3cret pass') cb(null, { user: 'reports' });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream: NodeJS.ReadableStream, _s: unknown, cb: (e?: Error | null) => void) {
        simpleParser(stream as never)
          .then((mail) => (received.push(mail), cb()))
          .catch(cb);
      },
    };
    smtps = new SMTPServer({
      ...common,
      secure: true,
      key: fs.readFileSync(path.join(dir, 'key.pem')),
      cert: fs.readFileSync(path.join(dir, 'cert.pem')),
    } as never);
    // Plain SMTP that offers no STARTTLS: a password must not go to it.
    plain = new SMTPServer({ ...common, disabledCommands: ['STARTTLS'], allowInsecureAuth: true } as never);
    // The client that refuses the untrusted certificate ends the handshake: the server reports it.
    smtps.on('error', () => undefined);
    securePort = await listen(smtps);
    plainPort = await listen(plain);
    fs.writeFileSync(authFile, 'reports\ns3cret pass\n', { mode: 0o600 });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => smtps.close(() => resolve()));
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads smtps:// as implicit TLS on 465 by default, and the auth file as a path', () => {
    expect(reportFlags({ smtp: 'smtps://relay.x.example' })).toEqual({
      host: 'relay.x.example',
      port: 465,
      secure: true,
    });
    expect(reportFlags({ smtp: 'smtp://relay.x.example:587' })).toEqual({
      host: 'relay.x.example',
      port: 587,
    });
    expect(reportFlags({ smtpAuthFile: '/etc/mailvault/smtp' })).toEqual({ authFile: '/etc/mailvault/smtp' });
    for (const bad of [
      { smtp: 'smtpx://h' },
      { smtp: 'smtps://' },
      { smtpAuthFile: 'relative/file' },
      { smtpCaFile: 'ca.pem' },
    ])
      expect(() => reportFlags(bad)).toThrow(ReportSettingsError);
    // TLS is for the host it was given with, not for the directory's plain MTA.
    expect(resolveReportSettings({ to: ['a@x.example'], secure: true }, { host: 'mta' })).not.toHaveProperty(
      'secure',
    );
  });

  it('logs in over implicit TLS with the user and password of the auth file, the certificate checked', async () => {
    const flags = { smtp: `smtps://127.0.0.1:${securePort}`, smtpAuthFile: authFile };
    // Self-signed and not trusted: the password is not sent to it.
    const untrusted = resolveReportSettings({ to: ['ops@x.example'], ...reportFlags(flags) }, {})!;
    await expect(sendReport(untrusted, run())).rejects.toThrow(/self[- ]signed/i);
    expect(logins).toEqual([]);
    const settings = resolveReportSettings(
      {
        to: ['ops@x.example'],
        ...reportFlags({ ...flags, smtpCaFile: path.join(dir, 'cert.pem') }),
      },
      {},
    )!;
    expect(settings.caFile).toBe(path.join(dir, 'cert.pem'));
    await sendReport(settings, run());
    expect(logins).toContain('reports');
    expect(received.at(-1)?.subject).toBe('Mailvault Backup Report: SUCCESS');
  });

  it('a wrong password, a file others can read, or a server without TLS: not sent', async () => {
    const count = received.length;
    const settings = { to: ['ops@x.example'], from: 'b@x.example', host: '127.0.0.1', subjectPrefix: 'P' };
    const wrong = path.join(dir, 'wrong');
    fs.writeFileSync(wrong, 'reports\nnot it\n', { mode: 0o600 });
    const caFile = path.join(dir, 'cert.pem');
    await expect(
      sendReport({ ...settings, port: securePort, secure: true, authFile: wrong, caFile }, run()),
    ).rejects.toThrow(/Invalid username or password|535/);
    fs.chmodSync(wrong, 0o644);
    await expect(
      sendReport({ ...settings, port: securePort, secure: true, authFile: wrong, caFile }, run()),
    ).rejects.toThrow(/readable by others/);
    const before = logins.length;
    await expect(sendReport({ ...settings, port: plainPort, authFile }, run())).rejects.toThrow(
      /STARTTLS|TLS/,
    );
    expect(logins.length).toBe(before); // the password was never offered in clear
    expect(received.length).toBe(count);
  });
});
