import { accountPaths } from './layout';
import type { SessionType } from './labels';
import { type FileRecord, type Manifest, MANIFEST_FORMAT, type ManifestAccount } from './manifest';

/** An account as the backup job reports it; its files and bytes come from what was written. */
export type ManifestAccountInput = Omit<ManifestAccount, 'files' | 'bytes'>;

/** What the backup job tells `commit`; the session writer knows the rest. */
export type CommitInput = Omit<
  Manifest,
  'format' | 'label' | 'type' | 'startMs' | 'endMs' | 'files' | 'accounts'
> & {
  accounts: ManifestAccountInput[];
  /** Default: now. */
  endMs?: number;
};

/**
 * The manifest of a session from the job's account of it and the files recorded as they were
 * written: `files` sorted by path, each account's files and bytes taken from its directory.
 */
export function assembleManifest(
  session: { label: string; type: SessionType; startMs: number; endMs: number },
  recorded: ReadonlyMap<string, FileRecord>,
  input: CommitInput,
): Manifest {
  const files: Record<string, FileRecord> = {};
  for (const key of [...recorded.keys()].sort()) files[key] = recorded.get(key) as FileRecord;
  const paths = Object.keys(files);
  const accounts = input.accounts.map((account): ManifestAccount => {
    const prefix = `${accountPaths(account.zimbraId).dir}/`;
    const own = paths.filter((file) => file.startsWith(prefix));
    const bytes = own.reduce((sum, file) => sum + (files[file] as FileRecord).bytes, 0);
    return { ...account, files: own, bytes };
  });
  const { endMs, ...rest } = input;
  return { format: MANIFEST_FORMAT, ...session, endMs: endMs ?? session.endMs, ...rest, accounts, files };
}
