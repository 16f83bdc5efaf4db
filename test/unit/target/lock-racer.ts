// A process racing for a target's lock (used by lock.test.ts): prints "ready", waits for a line
// on stdin, calls acquireLock, prints "won" or "lost <code>", and if it won holds the lock until
// its stdin closes.
import { acquireLock } from '../../../src-main/engine/target/lock';

const target = process.argv[2] as string;
process.stdin.once('data', () => {
  acquireLock(target, { operation: 'race' }).then(
    (lock) => {
      process.stdout.write('won\n');
      process.stdin.once('end', () => void lock.release().then(() => process.exit(0)));
      process.stdin.resume();
    },
    (error: { code?: string; message?: string }) => {
      process.stdout.write(`lost ${error.code ?? error.message}\n`);
      process.exit(0);
    },
  );
});
process.stdout.write('ready\n');
