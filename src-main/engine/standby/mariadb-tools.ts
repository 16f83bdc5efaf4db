import path from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import type { ServerAccess } from '../server/server-access';

/**
 * The stock MariaDB clients on a server (Zimbra's own under common/bin first), run with the
 * zimbra user's password handed over on standard input into MYSQL_PWD: never on a command line
 * (visible in ps) nor in a file.
 */
const WITH_PASSWORD =
  'IFS= read -r MYSQL_PWD; export MYSQL_PWD; out="$1"; in="$2"; shift 2; ' +
  'if [ -n "$out" ]; then exec "$@" > "$out"; elif [ -n "$in" ]; then exec "$@" < "$in"; else exec "$@"; fi';

async function findTool(server: ServerAccess, names: string[]): Promise<string> {
  for (const name of names) {
    const own = path.posix.join(server.zimbraHome, 'common/bin', name);
    if (await server.transport.stat(own)) return own;
  }
  for (const name of names) {
    const r = await server.transport.exec(['sh', '-c', 'command -v "$1"', 'sh', name]);
    if (r.code === 0 && r.stdout.toString().trim()) return r.stdout.toString().trim();
  }
  throw new Error(`${server.name}: none of ${names.join(', ')} found (MariaDB client tools)`);
}

/** zimbra and every mboxgroupN, from information_schema (never a hard-coded list). */
export async function zimbraDatabases(server: ServerAccess): Promise<string[]> {
  const [rows] = await server.db.query<RowDataPacket[]>(
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'zimbra' OR SCHEMA_NAME REGEXP '^mboxgroup[0-9]+$'",
  );
  const names = rows.map((r) => String(r.name));
  const group = (n: string) => (n === 'zimbra' ? 0 : Number(n.slice(9)));
  return names.sort((a, b) => group(a) - group(b));
}

async function runWithPassword(
  server: ServerAccess,
  argv: string[],
  out: string,
  input: string,
): Promise<void> {
  const { mysql } = server.settings;
  const r = await server.transport.exec(['sh', '-c', WITH_PASSWORD, 'sh', out, input, ...argv], {
    input: `${mysql.password}\n`,
    timeoutMs: 6 * 3_600_000,
  });
  if (r.code !== 0)
    throw new Error(
      `${server.name}: ${path.posix.basename(argv[0]!)} failed (${r.code}): ${r.stderr.trim()}`,
    );
}

/**
 * A consistent dump (one InnoDB snapshot for every table: --single-transaction) into `file` on
 * the server, through a temp name so a cut dump is never taken for a whole one.
 */
export async function dumpDatabases(server: ServerAccess, databases: string[], file: string): Promise<void> {
  const tool = await findTool(server, ['mariadb-dump', 'mysqldump']);
  const { mysql } = server.settings;
  await server.transport.exec(['mkdir', '-p', '--', path.posix.dirname(file)]);
  await runWithPassword(
    server,
    [
      tool,
      `--socket=${mysql.socket}`,
      `--user=${mysql.user}`,
      '--single-transaction',
      '--quick',
      '--hex-blob',
      '--databases',
      ...databases,
    ],
    `${file}.part`,
    '',
  );
  const mv = await server.transport.exec(['mv', '-f', '--', `${file}.part`, file]);
  if (mv.code !== 0) throw new Error(`${server.name}: mv ${file}: ${mv.stderr.trim()}`);
}

/**
 * The client loading a dump reads the file itself, so it outlives a failover killed with
 * SIGKILL and goes on loading on its own: a rerun's load then races it (lock waits, duplicate
 * keys, tables dropped under the replay). Each load records its client's pid; the next one
 * stops a client still running from that record (it is the stock client: checked in /proc)
 * and waits for it to end before loading.
 */
const STOP_LEFT_LOADER =
  'p=$(cat "$1" 2>/dev/null) || exit 0; ' +
  'if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && tr "\\0" " " < /proc/"$p"/cmdline | grep -q -e mariadb -e mysql; then ' +
  'kill "$p"; while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; fi; rm -f "$1"';

/** Loads a dump file that is on the server into its MariaDB with the stock client. */
export async function loadDump(server: ServerAccess, file: string): Promise<void> {
  const tool = await findTool(server, ['mariadb', 'mysql']);
  const { mysql } = server.settings;
  const pidFile = path.posix.join(path.posix.dirname(file), '.load.pid');
  await server.transport.exec(['sh', '-c', STOP_LEFT_LOADER, 'sh', pidFile]);
  const argv = [tool, `--socket=${mysql.socket}`, `--user=${mysql.user}`];
  const r = await server.transport.exec(
    [
      'sh',
      '-c',
      'IFS= read -r MYSQL_PWD; export MYSQL_PWD; pid="$1"; in="$2"; shift 2; echo $$ > "$pid"; exec "$@" < "$in"',
      'sh',
      pidFile,
      file,
      ...argv,
    ],
    { input: `${mysql.password}\n`, timeoutMs: 6 * 3_600_000 },
  );
  await server.transport.exec(['rm', '-f', '--', pidFile]);
  if (r.code !== 0)
    throw new Error(`${server.name}: ${path.posix.basename(tool)} failed (${r.code}): ${r.stderr.trim()}`);
}
