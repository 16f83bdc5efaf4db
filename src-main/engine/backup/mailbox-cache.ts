import path from 'node:path';
import { MAILBOXD_PID_FILES } from '../replay/playredo-guard';
import type { Transport } from '../transport/types';

/**
 * mailboxd keeps accounts in its cache (ldap_cache_account_maxage, 15 min by default) and does
 * not see a zimbraAccountStatus we write to LDAP ourselves until the entry expires there. So on a
 * server where mailboxd runs, maintenance written only to LDAP would not lock anything out for
 * up to 15 minutes, and worse, after the window the account would stay locked out as long. Real
 * Zimbra evicts the account from the cache (NE's beginMaintenance; `zmprov flushCache account
 * <id>` for an administrator). We do what an administrator does, with the server's own zmprov:
 * after maintenance is set, and again after the status is put back.
 *
 * Only when mailboxd runs (its pid files in zimbra_log_directory name a live process, as
 * zmmailboxdctl status checks) and `<zimbra_home>/bin/zmprov` exists: without mailboxd there is
 * no cache to flush, and zmprov would only wait on a SOAP port nobody listens on. The lab has
 * no mailboxd, so there the backup runs exactly as before.
 *
 * The price: zmprov is a Java program, 1–3 s to start on a real server, and the first flush is
 * inside the maintenance window. That is the cost of a lockout that really locks out; a
 * mailboxd-side lockout (admin SOAP LockoutMailbox) would need admin credentials we do not hold.
 * A failed flush is a warning, not an account error: the backup itself stays consistent (rows
 * from one snapshot, blobs checked against them), only the lockout was not enforced.
 */
export interface MailboxCache {
  readonly zmprov: string;
  /** `zmprov flushCache account <zimbraId>`; resolves with a warning text when it failed. */
  flush(zimbraId: string): Promise<string | null>;
}

const FLUSH_TIMEOUT_MS = 60_000;

/** The pid in one of mailboxd's pid files if that process is alive on the server. */
async function mailboxdPid(transport: Transport, logDir: string): Promise<number | null> {
  const run = await transport.exec([
    'sh',
    '-c',
    'for f in "$@"; do p=$(head -c 64 -- "$f" 2>/dev/null | tr -cd 0-9); [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; exit 0; }; done; exit 1',
    'sh',
    ...MAILBOXD_PID_FILES.map((name) => path.posix.join(logDir, name)),
  ]);
  const pid = Number(run.stdout.toString().trim());
  return run.code === 0 && pid > 0 ? pid : null;
}

/** The cache to flush on this server, or null when there is none (no mailboxd, or no zmprov). */
export async function mailboxdCache(
  transport: Transport,
  zimbraHome: string,
  logDir: string,
): Promise<MailboxCache | null> {
  const zmprov = path.posix.join(zimbraHome, 'bin/zmprov');
  if (!(await transport.stat(zmprov))) return null;
  if ((await mailboxdPid(transport, logDir)) === null) return null;
  return {
    zmprov,
    async flush(zimbraId) {
      const run = await transport.exec([zmprov, 'flushCache', 'account', zimbraId], {
        timeoutMs: FLUSH_TIMEOUT_MS,
      });
      if (run.code === 0) return null;
      const why = run.stderr.trim().split('\n')[0] ?? '';
      return `zmprov flushCache account ${zimbraId} failed (${run.code}${why ? `: ${why}` : ''}); mailboxd may not see the maintenance status until its account cache expires`;
    },
  };
}
