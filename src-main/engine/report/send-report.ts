import fs from 'node:fs';
import nodemailer from 'nodemailer';
import { reportBody, reportSubject, type RunReport } from './report-content';
import { readSmtpAuth, type ReportSettings } from './report-settings';

/**
 * Sends the report over SMTP with nodemailer: plain SMTP to the MTA the settings name (Zimbra's
 * own postfix on the server, usually), STARTTLS when it offers it, with no credentials (a mail
 * server's MTA accepts mail from its own host); or, for a relay that wants them, implicit TLS
 * (smtps://, port 465) and a user and password from the --smtp-auth-file.
 */
export async function sendReport(settings: ReportSettings, run: RunReport): Promise<{ messageId: string }> {
  const auth = settings.authFile ? readSmtpAuth(settings.authFile) : undefined;
  const ca = settings.caFile ? readCaFile(settings.caFile) : undefined;
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure === true,
    ...(auth ? { auth } : {}),
    // A password never crosses in clear: without implicit TLS, STARTTLS is then required.
    requireTLS: auth !== undefined && settings.secure !== true,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    // A password goes only to a server whose certificate checks out (the system's CAs, or those of
    // --smtp-ca-file). Without one, the report goes to the server's own MTA, which often has a
    // self-signed certificate: encrypted when offered, not failed on (the report holds no secret).
    tls: { rejectUnauthorized: auth !== undefined || ca !== undefined, ...(ca ? { ca } : {}) },
  });
  try {
    const info = await transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject: reportSubject(settings.subjectPrefix, run),
      text: reportBody(run),
    });
    return { messageId: String(info.messageId) };
  } finally {
    transport.close();
  }
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--smtp-ca-file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`--smtp-ca-file ${file}: no PEM certificate in it`);
  return pem;
}
