import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';

/**
 * Who gets the report mail and through which SMTP server. Per server, from the directory as
 * Zimbra keeps them (zimbraBackupReportEmailRecipients, …Sender, …SubjectPrefix, zimbraSmtpHostname,
 * zimbraSmtpPort: the server's entry first, then the global config), and the command's flags
 * over those.
 */
export interface ReportSettings {
  to: string[];
  from: string;
  host: string;
  port: number;
  subjectPrefix: string;
  /** Implicit TLS from the first byte (`--smtp smtps://host`, port 465), instead of STARTTLS. */
  secure?: boolean;
  /**
   * A file on the machine that sends the mail: the SMTP user on its first line, the password on
   * its second, readable by its owner only. The password is read just before sending, so it is
   * never on a command line, in a crontab or in an attempt record.
   */
  authFile?: string;
  /**
   * PEM certificates to trust for the SMTP server besides the system's (a relay with a private CA
   * or a self-signed certificate). Read when sending.
   */
  caFile?: string;
}

export type PartialReportSettings = Partial<ReportSettings>;

export class ReportSettingsError extends Error {}

export const DEFAULT_SUBJECT_PREFIX = 'Mailvault Backup Report';
const ADDRESS = /^[^\s@,<>]+@[^\s@,<>]+$/;

/** `--mail-to a@x,b@y`, `--smtp host[:port]`, …, checked; throws naming the bad value. */
export function reportFlags(flags: {
  mailTo?: string;
  mailFrom?: string;
  smtp?: string;
  mailSubjectPrefix?: string;
  smtpAuthFile?: string;
  smtpCaFile?: string;
}): PartialReportSettings {
  const out: PartialReportSettings = {};
  if (flags.mailTo !== undefined) {
    const to = flags.mailTo.split(',').map((a) => a.trim());
    for (const address of to)
      if (!ADDRESS.test(address))
        throw new ReportSettingsError(
          `--mail-to ${flags.mailTo}: ${address || '(empty)'} is not a mail address`,
        );
    out.to = to;
  }
  if (flags.mailFrom !== undefined) {
    if (!ADDRESS.test(flags.mailFrom))
      throw new ReportSettingsError(`--mail-from ${flags.mailFrom}: not a mail address`);
    out.from = flags.mailFrom;
  }
  if (flags.smtp !== undefined) {
    const m = /^(?:(smtps?):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(flags.smtp);
    const secure = m?.[1] === 'smtps';
    const port = m?.[3] === undefined ? (secure ? 465 : 25) : Number(m[3]);
    if (!m || port < 1 || port > 65535)
      throw new ReportSettingsError(`--smtp ${flags.smtp}: not [smtps://]host[:port]`);
    out.host = m[2]!.replace(/^\[|\]$/g, '');
    out.port = port;
    if (secure) out.secure = true;
  }
  if (flags.smtpAuthFile !== undefined) {
    // Read when the mail is sent (on the machine that sends it): only the path is checked here.
    if (!path.isAbsolute(flags.smtpAuthFile) || /[\r\n]/.test(flags.smtpAuthFile))
      throw new ReportSettingsError(`--smtp-auth-file ${flags.smtpAuthFile}: not an absolute path`);
    out.authFile = flags.smtpAuthFile;
  }
  if (flags.smtpCaFile !== undefined) {
    if (!path.isAbsolute(flags.smtpCaFile) || /[\r\n]/.test(flags.smtpCaFile))
      throw new ReportSettingsError(`--smtp-ca-file ${flags.smtpCaFile}: not an absolute path`);
    out.caFile = flags.smtpCaFile;
  }
  if (flags.mailSubjectPrefix !== undefined) {
    if (/[\r\n]/.test(flags.mailSubjectPrefix) || flags.mailSubjectPrefix.trim() === '')
      throw new ReportSettingsError('--mail-subject-prefix: give one line of text');
    out.subjectPrefix = flags.mailSubjectPrefix;
  }
  return out;
}

const ATTRIBUTES = [
  'zimbraBackupReportEmailRecipients',
  'zimbraBackupReportEmailSender',
  'zimbraBackupReportEmailSubjectPrefix',
  'zimbraSmtpHostname',
  'zimbraSmtpPort',
];

function values(entry: Record<string, unknown> | undefined, name: string): string[] {
  const v = entry?.[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String).filter((s) => s !== '');
}

/** The report settings the directory holds for `hostname` (server entry over global config). */
export async function directoryReportSettings(
  client: Client,
  hostname: string,
): Promise<PartialReportSettings> {
  const read = async (dn: string) => {
    try {
      const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ATTRIBUTES });
      return searchEntries[0] as Record<string, unknown> | undefined;
    } catch {
      return undefined; // no such entry
    }
  };
  const server = await read(`cn=${hostname},cn=servers,cn=zimbra`);
  const global = await read('cn=config,cn=zimbra');
  const pick = (name: string) => (values(server, name).length ? values(server, name) : values(global, name));
  const out: PartialReportSettings = {};
  const to = pick('zimbraBackupReportEmailRecipients');
  if (to.length) out.to = to;
  const [from] = pick('zimbraBackupReportEmailSender');
  if (from) out.from = from;
  const [prefix] = pick('zimbraBackupReportEmailSubjectPrefix');
  if (prefix) out.subjectPrefix = prefix;
  const [host] = pick('zimbraSmtpHostname');
  if (host) out.host = host;
  const [port] = pick('zimbraSmtpPort');
  if (port && /^\d+$/.test(port)) out.port = Number(port);
  return out;
}

/** Flags over the directory over defaults; null recipients means there is no one to tell. */
export function resolveReportSettings(
  flags: PartialReportSettings,
  directory: PartialReportSettings,
): ReportSettings | null {
  const to = flags.to ?? directory.to;
  if (!to?.length) return null;
  return {
    to,
    from: flags.from ?? directory.from ?? `mailvault@${os.hostname()}`,
    host: flags.host ?? directory.host ?? 'localhost',
    port: flags.port ?? directory.port ?? 25,
    subjectPrefix: flags.subjectPrefix ?? directory.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
    // TLS goes with the host it was given for: the directory's zimbraSmtpHostname is plain SMTP.
    ...(flags.secure && flags.host ? { secure: true } : {}),
    ...(flags.authFile ? { authFile: flags.authFile } : {}),
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
  };
}

/**
 * The SMTP credentials of an --smtp-auth-file: user on the first line, password on the second.
 * Refused when group or others may read it (it holds a password) or when it is not two lines.
 */
export function readSmtpAuth(file: string): { user: string; pass: string } {
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ReportSettingsError(`--smtp-auth-file ${file}: ${(error as Error).message}`);
  }
  if ((stat.mode & 0o077) !== 0)
    throw new ReportSettingsError(
      `--smtp-auth-file ${file}: readable by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  const [user, pass] = text.replace(/\r/g, '').split('\n');
  if (!user || pass === undefined || pass === '')
    throw new ReportSettingsError(
      `--smtp-auth-file ${file}: give the user on the first line and the password on the second`,
    );
  return { user, pass };
}
