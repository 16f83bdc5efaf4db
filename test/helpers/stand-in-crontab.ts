import fs from 'node:fs';
import path from 'node:path';

/**
 * A stand-in for the `crontab` command, for tests of code that installs schedules without a
 * private mount namespace: `-l` prints the crontab kept in <dir>/crontab (or "no crontab for …",
 * exit 1, as cron's does when there is none), `-` installs standard input. The engine talks to it
 * exactly as to crontab (engine/schedule/crontab.ts); the machine's spool is never touched.
 */
export function standInCrontab(dir: string): { command: string[]; file: string; read(): string } {
  const file = path.join(dir, 'crontab');
  const script = path.join(dir, 'crontab.sh');
  fs.writeFileSync(
    script,
    `#!/bin/sh
f='${file}'
case "$1" in
  -l) if [ -f "$f" ]; then cat "$f"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$f.new" && mv "$f.new" "$f" ;;
  *) echo "crontab stand-in: unexpected $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return { command: [script], file, read: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '') };
}
