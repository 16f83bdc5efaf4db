import type { SFTPWrapper } from 'ssh2';
import { FIND_PRINTF, FindRecordParser, findStartingPoint, onlyMissingErrors } from './find-records';
import { execStreaming } from './ssh-exec';
import type { SshLink } from './ssh-link';
import { TransportError, type RemoteFileInfo } from './types';

/**
 * Listing and metadata come from GNU find rather than SFTP: one command lists a whole tree in a
 * single round trip (SFTP needs one readdir per directory and one stat per file), and it reports
 * inode, device, link count and nanosecond mtimes, which SFTP v3 does not carry at all.
 * LC_ALL=C keeps its error messages in English, which is what we recognise "missing" by.
 */
async function runFind(
  link: SshLink,
  args: string[],
): Promise<{ records: FindRecordParser; code: number; stderr: string }> {
  const records = new FindRecordParser();
  const { code, stderr } = await execStreaming(link, ['env', 'LC_ALL=C', 'find', ...args], {
    onStdout: (chunk) => records.push(chunk),
  });
  return { records, code, stderr };
}

function findError(link: SshLink, what: string, stderr: string): TransportError {
  const code = /Permission denied/.test(stderr) ? 'EACCES' : 'IO';
  return new TransportError(link.name, `cannot ${what}: ${stderr.trim() || 'find failed'}`, { code });
}

export async function walkRemote(link: SshLink, dir: string): Promise<RemoteFileInfo[]> {
  // -ignore_readdir_race: blobs deleted while find runs are skipped instead of failing the walk.
  const { records, code, stderr } = await runFind(link, [
    '-H',
    findStartingPoint(dir),
    '-ignore_readdir_race',
    '-type',
    'f',
    '-printf',
    FIND_PRINTF,
  ]);
  if (code !== 0 && !onlyMissingErrors(stderr)) throw findError(link, `list ${dir}`, stderr);
  // An empty relative path is dir itself, when dir is a file: walk lists what is below it only.
  return records
    .end()
    .map((record) => record.info)
    .filter((info) => info.path !== '');
}

export async function statRemote(link: SshLink, filePath: string): Promise<RemoteFileInfo | null> {
  // -H follows a symbolic link given as the path (as fs.stat does) and nothing else.
  const { records, code, stderr } = await runFind(link, [
    '-H',
    findStartingPoint(filePath),
    '-maxdepth',
    '0',
    '-printf',
    FIND_PRINTF,
  ]);
  if (code !== 0) {
    if (onlyMissingErrors(stderr)) return null;
    throw findError(link, `stat ${filePath}`, stderr);
  }
  const record = records.end()[0];
  // With -H a link that still shows as a link points nowhere: fs.stat says ENOENT for it.
  if (!record || record.type === 'l') return null;
  return { ...record.info, path: filePath };
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that callers act on. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

export async function readFileRemote(link: SshLink, filePath: string): Promise<Buffer> {
  let sftp: SFTPWrapper;
  try {
    sftp = await link.sftp();
  } catch (error) {
    throw link.failure(`cannot read ${filePath}`, error);
  }
  try {
    return await link.guard(
      new Promise<Buffer>((resolve, reject) =>
        sftp.readFile(filePath, (error, data) => (error ? reject(error) : resolve(data))),
      ),
    );
  } catch (error) {
    if (error instanceof TransportError) throw error;
    const status = (error as { code?: unknown }).code;
    const code =
      status === SFTP_NO_SUCH_FILE ? 'ENOENT' : status === SFTP_PERMISSION_DENIED ? 'EACCES' : 'IO';
    throw new TransportError(link.name, `cannot read ${filePath}: ${(error as Error).message}`, {
      code,
      cause: error,
    });
  }
}
