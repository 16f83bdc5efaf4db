import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { isLabel } from '../engine/target/labels';
import { verifyTarget, type Finding } from '../engine/verify/verify-target';
import { checkPathArgument } from './server-option';
import { UsageError } from './usage-error';

const describe = (f: Finding) => `${f.email ? `${f.email}: ` : ''}${f.file ? `${f.file} ` : ''}${f.problem}`;

/** `mailvault verify`: exit 0 when every session checked (and its redo logs) is intact, 1 if not. */
export function verifyCommand(): Command {
  return new Command('verify')
    .description(
      're-read a backup target and prove its sessions intact (sizes, SHA-256, zips, SQL, LDIF, redo logs)',
    )
    .requiredOption('-t, --target <dir>', 'backup target directory')
    .option('--lb <label>', 'only this session (Zimbra: -lb)')
    .option('--json', 'print JSON')
    .action(async (flags: { target: string; lb?: string; json?: boolean }) => {
      checkPathArgument('-t', flags.target);
      if (flags.lb !== undefined && !isLabel(flags.lb))
        throw new UsageError(`-lb ${flags.lb}: not a session label (full-YYYYMMDD.HHMMSS.mmm)`);
      // A mistyped target holds no sessions, and "all intact" about nothing would be a lie.
      if (!fs.existsSync(path.join(flags.target, 'sessions')))
        throw new UsageError(`-t ${flags.target}: not a backup target (no sessions/)`);
      const verdict = await verifyTarget(flags.target, { label: flags.lb });
      if (flags.lb && verdict.sessions.length === 0 && verdict.findings.length === 0)
        throw new UsageError(`-lb ${flags.lb}: no complete session of that label in ${flags.target}`);
      if (flags.json) console.log(JSON.stringify(verdict));
      else {
        for (const s of verdict.sessions) {
          const size = `${s.files} files, ${(s.bytes / 2 ** 20).toFixed(1)} MiB`;
          console.log(`${s.label} ${s.intact ? 'intact' : 'DAMAGED'} (${size})`);
          for (const f of s.findings) console.log(`  ${describe(f)}`);
          const broken = s.accounts.filter((a) => !a.intact);
          if (broken.length > 0) console.log(`  accounts affected: ${broken.map((a) => a.email).join(', ')}`);
        }
        for (const f of verdict.findings) console.log(`${f.label ? `${f.label} ` : ''}${describe(f)}`);
        console.log(verdict.intact ? 'All intact.' : 'NOT intact: see above.');
      }
      process.exitCode = verdict.intact ? 0 : 1;
    });
}
