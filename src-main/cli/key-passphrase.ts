import fs from 'node:fs';
import ssh2 from 'ssh2';
import type { ServerProfile } from './server-option';
import { UsageError } from './usage-error';

/**
 * The passphrase of an encrypted SSH key given with -i: read from --passphrase-file, or asked at
 * a terminal (no echo), and checked against the key before anything connects, so a wrong one is
 * bad input (one line, exit 2) rather than a failed backup. The passphrase is never printed,
 * logged or put on a command line (a detached backup worker gets it from its parent over IPC).
 */

/** The file's first line (a trailing newline is how editors and `echo` end it, not part of it). */
export function readPassphraseFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--passphrase-file ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`}`,
    );
  }
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if (passphrase === '') throw new UsageError(`--passphrase-file ${file}: its first line is empty`);
  return passphrase;
}

/** Reads a line from the terminal without echoing it (raw mode: we see each key ourselves). */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question shows: whatever is typed after seeing it must not be echoed.
  stdin.setRawMode(true);
  stdin.resume();
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: Buffer): void => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') {
          done();
          resolve(value);
          return;
        }
        if (c === '\u0003' || c === '\u0004') {
          done();
          reject(new UsageError('no passphrase given (the prompt was interrupted)'));
          return;
        }
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else value += c;
      }
    };
    stdin.on('data', onData);
  });
}

/** A passphrase the parent of a detached worker typed and sent over IPC (see backup-command). */
let inherited: string | undefined;
export function inheritPassphrase(passphrase: string): void {
  inherited = passphrase;
}

/** Whether the key needs a passphrase, and whether `passphrase` opens it. */
function keyState(key: Buffer, passphrase?: string): 'ok' | 'encrypted' | 'wrong' {
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (!(parsed instanceof Error)) return 'ok';
  if (passphrase === undefined && /encrypted|passphrase/i.test(parsed.message)) return 'encrypted';
  if (passphrase !== undefined) return 'wrong';
  throw new UsageError(`-i: not a usable SSH private key (${parsed.message})`);
}

/**
 * For a run nobody watches (cron): the key must open with the passphrase file, or without one,
 * since no one will be at a terminal to type it. Checked when the schedule is installed.
 */
export function checkUnattendedKey(identity: string, passphraseFile: string | undefined): void {
  const key = fs.readFileSync(identity);
  const passphrase = passphraseFile === undefined ? undefined : readPassphraseFile(passphraseFile);
  const state = keyState(key, passphrase);
  if (state === 'encrypted')
    throw new UsageError(
      `--identity ${identity}: the key is encrypted and cron cannot type its passphrase; give --passphrase-file`,
    );
  if (state === 'wrong')
    throw new UsageError(`--identity ${identity}: the passphrase in ${passphraseFile} does not open this key`);
}

/**
 * Fills in profile.passphrase when its -i key is encrypted; idempotent. Without a file and with
 * no terminal to ask at, an encrypted key is bad input: a script must give --passphrase-file.
 */
export async function resolveKeyPassphrase(profile: ServerProfile): Promise<void> {
  if (profile.kind !== 'ssh' || profile.identity === undefined) return;
  const key = fs.readFileSync(profile.identity);
  let passphrase = profile.passphrase ?? inherited;
  if (passphrase === undefined && profile.passphraseFile !== undefined)
    passphrase = readPassphraseFile(profile.passphraseFile);
  const state = keyState(key, passphrase);
  if (state === 'ok') {
    profile.passphrase = passphrase;
    return;
  }
  if (state === 'wrong') {
    const from = profile.passphraseFile ? `the passphrase in ${profile.passphraseFile}` : 'the passphrase';
    throw new UsageError(`-i ${profile.identity}: ${from} does not open this key`);
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(
      `-i ${profile.identity}: the key is encrypted; give its passphrase with --passphrase-file, or load it into ssh-agent and leave out -i`,
    );
  const typed = await promptHidden(`Passphrase for ${profile.identity}: `);
  if (keyState(key, typed) !== 'ok')
    throw new UsageError(`-i ${profile.identity}: the passphrase typed does not open this key`);
  profile.passphrase = typed;
}
