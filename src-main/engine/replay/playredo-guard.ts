import os from 'node:os';
import path from 'node:path';
import { parseLocalconfig } from '../server/localconfig';
import type { ServerAccess } from '../server/server-access';
import { LocalTransport, type Transport } from '../transport';

/**
 * What Zimbra's zmplayredo wrapper checks before it replays (zm-core-utils src/bin/zmplayredo):
 *  - mailboxd must be stopped: replaying into a live server corrupts it. zmmailboxdctl status
 *    reads the mailboxd pid files in zimbra_log_directory and asks the process with kill -0;
 *    the launcher's (zmmailboxd_manager.pid, formerly zmmailboxd.pid) and the JVM's
 *    (zmmailboxd_java.pid) are all checked. Zimbra has no flag to override this, nor do we.
 *  - one run at a time: ${zimbra_log_directory}/zmplayredo.pid. Zimbra refuses while the file
 *    is non-empty and asks the administrator to remove it; we do the same while its pid is alive
 *    and take over a file whose process is gone (a killed run), so that a crash does not block
 *    the next one. The file is created with the shell's noclobber (O_EXCL) on the server itself,
 *    so two runs, local or over SSH, cannot both get it.
 */
export const MAILBOXD_PID_FILES = ['zmmailboxd_manager.pid', 'zmmailboxd.pid', 'zmmailboxd_java.pid'];
export const PLAYREDO_PID_FILE = 'zmplayredo.pid';

export class PlayRedoRefusedError extends Error {}

export function zimbraLogDirectory(server: ServerAccess): string {
  const lc = parseLocalconfig(server.localconfigXml.toString('utf8'));
  return lc.get('zimbra_log_directory') || path.posix.join(server.zimbraHome, 'log');
}

/** The pid a pid file names if that process is alive on the server, else null (absent, empty, stale). */
async function livePid(transport: Transport, file: string): Promise<number | null> {
  const run = await transport.exec([
    'sh',
    '-c',
    'p=$(head -c 64 -- "$1" 2>/dev/null | tr -cd 0-9) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"',
    'sh',
    file,
  ]);
  const pid = Number(run.stdout.toString().trim());
  return run.code === 0 && pid > 0 ? pid : null;
}

/** Refuses (PlayRedoRefusedError) while mailboxd runs on the server. */
export async function checkMailboxdStopped(server: ServerAccess, logDir: string): Promise<void> {
  for (const name of MAILBOXD_PID_FILES) {
    const file = path.posix.join(logDir, name);
    const pid = await livePid(server.transport, file);
    if (pid !== null)
      throw new PlayRedoRefusedError(
        `mailboxd still running (pid ${pid} in ${file}). Stop mailboxd before running zmplayredo.`,
      );
  }
}

export interface PlayRedoLock {
  file: string;
  /** Removes the pid file if it is still ours. */
  release(): Promise<void>;
}

/**
 * Writes zmplayredo.pid. Run on the server, the file holds our pid, as Zimbra's does; over SSH
 * it holds the pid of this process and the host it runs on, which the server cannot check:
 * such a file is only taken over from the same host.
 */
export async function acquirePlayRedoLock(server: ServerAccess, logDir: string): Promise<PlayRedoLock> {
  const file = path.posix.join(logDir, PLAYREDO_PID_FILE);
  const local = server.transport instanceof LocalTransport;
  const content = local ? `${process.pid}` : `${process.pid} ${os.hostname()}`;
  const create = () =>
    server.transport.exec([
      'sh',
      '-c',
      'mkdir -p -- "$(dirname -- "$1")" && set -C && printf "%s\\n" "$2" > "$1"',
      'sh',
      file,
      content,
    ]);
  for (let attempt = 0; attempt < 2; attempt++) {
    if ((await create()).code === 0)
      return {
        file,
        release: async () => {
          await server.transport.exec([
            'sh',
            '-c',
            '[ "$(cat -- "$1" 2>/dev/null)" = "$2" ] && rm -f -- "$1"',
            'sh',
            file,
            content,
          ]);
        },
      };
    const held = (await server.transport.exec(['cat', '--', file])).stdout.toString().trim();
    if (attempt > 0 || !(await isStale(server.transport, file, held)))
      throw new PlayRedoRefusedError(
        `another instance of zmplayredo (pid=${held || '?'}) is already running; remove ${file} if this is not the case`,
      );
    // The run that wrote it is gone: its file goes, and we try once more (another run may win).
    await server.transport.exec([
      'sh',
      '-c',
      '[ "$(cat -- "$1" 2>/dev/null)" = "$2" ] && rm -f -- "$1"',
      'sh',
      file,
      held,
    ]);
  }
  throw new PlayRedoRefusedError(`cannot write ${file}`);
}

async function isStale(transport: Transport, file: string, held: string): Promise<boolean> {
  const [pid, host] = held.split(/\s+/);
  if (!pid || !/^\d+$/.test(pid)) return held === '';
  if (host === undefined) return (await livePid(transport, file)) === null;
  if (host !== os.hostname()) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
