import { Command, CommanderError } from 'commander';
import { labCommand } from './lab-command';
import { UsageError } from './usage-error';

/**
 * `mailvault`: the Zimbra-compatible command line over the engine. Bad input is one line and
 * exit status 2; any other failure is one line and exit status 1; never a stack trace (set
 * MAILVAULT_DEBUG=1 to see one).
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('mailvault')
    .description('Back up, query, prune and restore Zimbra mail servers; fail over to a standby site.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError();
  program.addCommand(labCommand());
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they printed already.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
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
