import { Command, CommanderError } from 'commander';
import { abortCommand, backupCommand } from './backup-command';
import { labCommand } from './lab-command';
import { playRedoCommand } from './playredo-command';
import { restoreCommand } from './restore-command';
import { verifyCommand } from './verify-command';
import { planCommand } from './plan-command';
import { queryCommand } from './query-command';
import { scheduleCommand } from './schedule-command';
import { standbyCommand } from './standby-command';
import { UsageError } from './usage-error';

/**
 * `mailvault`: the Zimbra-compatible command line over the engine. Bad input is one line and
 * exit status 2; any other failure is one line and exit status 1; never a stack trace (set
 * MAILVAULT_DEBUG=1 to see one).
 */
/** Zimbra's tools take some long options with one dash (-lb, -del, -ca …); commander wants two. */
const ZIMBRA_LONG_FLAGS = new Set([
  '-lb',
  '-del',
  '-ca',
  '-pre',
  '-rf',
  '-br',
  '-ra',
  '-sys',
  '-restoreToTime',
  '-restoreToIncrLabel',
  '-restoreToRedoSeq',
]);
export function zimbraFlags(argv: readonly string[]): string[] {
  const out = argv.map((arg) => (ZIMBRA_LONG_FLAGS.has(arg) ? `-${arg}` : arg));
  // zmbackup: a bare -i is Zimbra's incremental; -i followed by a file is SPEC §4's SSH key.
  if (out[0] === 'zmbackup') {
    for (let i = 1; i < out.length; i++)
      if (out[i] === '-i' && out[i + 1] !== undefined && !out[i + 1]!.startsWith('-')) out[i] = '--identity';
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('mailvault')
    .description('Back up, query, prune and restore Zimbra mail servers; fail over to a standby site.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError();
  program.addCommand(labCommand());
  program.addCommand(backupCommand(argv));
  program.addCommand(abortCommand());
  program.addCommand(verifyCommand());
  program.addCommand(restoreCommand());
  program.addCommand(playRedoCommand());
  program.addCommand(queryCommand());
  program.addCommand(planCommand());
  program.addCommand(scheduleCommand());
  program.addCommand(standbyCommand());
  // Added commands (and theirs) do not inherit these: their usage errors too are one
  // `mailvault:` line, exit 2.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap((sub) => all(sub as Command))];
  for (const command of all(program))
    command.exitOverride().configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`mailvault: ${s.replace(/^error: /, '')}`),
    });
  try {
    await program.parseAsync(zimbraFlags(argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they printed already.
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
        ? 0
        : 2;
    }
    if (process.env.MAILVAULT_DEBUG) console.error(error);
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    console.error(`mailvault: ${message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

const entry = process.argv[1] ?? '';
if (entry.endsWith('main.ts') || entry.endsWith('cli.js') || entry.endsWith('cli.mjs')) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
