/**
 * Quoting for the POSIX shell that sshd runs every command through (`$SHELL -c <command>`).
 * SSH has no argv: the server receives one string, so each argument must reach the program
 * byte for byte whatever it contains ($(), backticks, quotes, newlines, globs).
 *
 * Everything is single-quoted, because inside single quotes sh interprets nothing at all; an
 * embedded single quote closes the quoting, adds an escaped quote and reopens it ('\'').
 * This holds for sh, dash, bash, ksh and zsh (Zimbra's user runs bash); csh would not do.
 */

/** One argument as a single sh word. Throws on NUL: no C string, hence no argument, can hold it. */
export function quoteArg(value: string): string {
  if (value.includes('\0')) throw new Error(`argument contains a NUL byte: ${JSON.stringify(value)}`);
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** A command line that sh splits back into exactly argv, with no expansion of any kind. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command: argv needs at least the program name');
  return argv.map(quoteArg).join(' ');
}
