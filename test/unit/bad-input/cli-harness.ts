import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { main } from '../../../src-main/cli/main';

/**
 * Runs the `mailvault` command line in this process (a child per value would take minutes for
 * the corpus), capturing what it prints. Always with --sync where a backup could start: a value
 * that slipped through must fail here, never fork a detached worker.
 */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const text = (args: unknown[]) => `${args.map(String).join(' ')}\n`;
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += text(a))),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    }),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    }),
  ];
  process.exitCode = undefined;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    for (const spy of spies) spy.mockRestore();
  }
}

/** Every path under `root` with its type, mode, size and content digest: equal snapshots, nothing changed. */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      const st = fs.lstatSync(full);
      if (entry.isDirectory()) {
        out[rel] = `dir ${st.mode.toString(8)}`;
        walk(full);
      } else if (entry.isFile()) {
        const sha = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
        out[rel] = `file ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${sha}`;
      } else out[rel] = `other ${st.mode.toString(8)}`;
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

/** How a usage error shows a value (see UsageError): control and bidi characters escaped. */
export function shown(value: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return value.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Shell metacharacters, quotes, control characters, `..`, Unicode, empty, huge, LDAP and SQL injection. */
export const HOSTILE: Record<string, string> = {
  'command substitution': '$(touch /tmp/mv-pwned)',
  backticks: '`touch /tmp/mv-pwned`',
  semicolon: 'x;rm -rf /',
  pipe: 'x|cat /etc/passwd',
  ampersands: 'x&&reboot',
  redirect: 'x>/tmp/mv-pwned',
  glob: 'x*',
  'single quote': "o'x",
  'double quote': 'a"b',
  'mixed quotes': `a'b"c`,
  newline: 'a\nb',
  'carriage return': 'a\r\n',
  'terminal escape': 'a\u001b[2Jb',
  tab: 'a\tb',
  'bidi override': 'a\u202eb',
  'dot-dot': '../',
  'dot-dot deep': '../../etc/passwd',
  unicode: 'ünïcödé',
  cjk: '用户',
  'fullwidth digits': '２０２１',
  'zero-width space': 'a\u200bb',
  empty: '',
  space: ' ',
  huge: 'a'.repeat(100_000),
  'LDAP filter injection': '*)(uid=*',
  'LDAP or-injection': 'admin)(|(objectClass=*',
  'LDAP star': '*',
  'SQL injection': "' OR '1'='1",
  'SQL drop': '1; DROP TABLE mailbox;--',
  'SQL comment': "x' --",
};

/** The values a path must refuse even when it is absolute. */
export const HOSTILE_PATH_TAILS: Record<string, string> = {
  'command substitution': '/$(touch /tmp/mv-pwned)',
  backticks: '/`id`',
  semicolon: ';rm -rf x',
  pipe: '|cat',
  ampersands: '&&reboot',
  redirect: '>x',
  glob: '/*',
  'single quote': "/o'x",
  'double quote': '/a"b',
  newline: '/a\nb',
  'terminal escape': '/a\u001b[2J',
  'bidi override': '/a\u202eb',
  'dot-dot': '/../../etc',
  huge: `/${'a'.repeat(5000)}`,
  'LDAP filter injection': '/*)(uid=*',
  'SQL injection': "/' OR '1'='1",
};
