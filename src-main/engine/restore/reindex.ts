import path from 'node:path';
import type { ServerAccess } from '../server/server-access';

/**
 * After replay the mailbox's rows and blobs are at the point in time, but its Lucene index is
 * still the full's: index files can only be written by mailboxd. As an administrator would, ask
 * mailboxd to rebuild it (`zmprov rim <account> start`) where the server has zmprov; otherwise
 * say what to run.
 */
export async function requestReindex(
  server: ServerAccess,
  email: string,
): Promise<{ requested: boolean; note: string }> {
  const zmprov = path.posix.join(server.zimbraHome, 'bin/zmprov');
  if (!(await server.transport.stat(zmprov)))
    return {
      requested: false,
      note: `no zmprov on the server: run "zmprov rim ${email} start" once mailboxd is up`,
    };
  const run = await server.transport.exec([zmprov, 'rim', email, 'start'], { timeoutMs: 120_000 });
  return run.code === 0
    ? { requested: true, note: `zmprov rim ${email} start` }
    : { requested: false, note: `zmprov rim ${email} start failed (${run.code}): ${run.stderr.trim()}` };
}
