import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedAction, type RunRecordFlags } from '../../../src-main/cli/run-record';
import { UsageError } from '../../../src-main/cli/usage-error';
import { listAttempts } from '../../../src-main/engine/schedule/attempts';
import { formatLabel } from '../../../src-main/engine/target/labels';
import type { Manifest } from '../../../src-main/engine/target/manifest';
import { tempDir, validManifest } from '../target/fixtures';

/**
 * The honesty of an unattended run, whatever the backup code returns: an action that claims
 * success (exit 0) while its session is not completed, or that writes no session, is recorded
 * and exits as a failure. No mail here (no --mail-report); delivery is tested against SMTP elsewhere.
 */
let target: string;
beforeEach(() => {
  target = tempDir('mv-run-record-');
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  fs.rmSync(target, { recursive: true, force: true });
});

function writeSession(status: Manifest['status']): string {
  const startMs = Date.now();
  const label = formatLabel('full', startMs);
  const manifest: Manifest = { ...validManifest(), label, startMs, endMs: startMs + 10, status };
  if (status !== 'completed') {
    manifest.accounts[0]!.status = 'ERROR';
    manifest.accounts[0]!.error = 'cannot read blob';
    manifest.errors = [{ email: 'user1@example.com', message: 'cannot read blob' }];
  }
  const dir = path.join(target, 'sessions', label);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return label;
}

const flags = (): RunRecordFlags => ({ server: 'local', full: true, sync: true, unattended: true, target });
const wrapped = (action: () => Promise<void>) => recordedAction<RunRecordFlags>(() => undefined, action);

describe('unattended runs are honest', () => {
  it('a completed session and exit 0: succeeded, with its label', async () => {
    let label = '';
    await wrapped(async () => {
      label = writeSession('completed');
      process.exitCode = 0;
    })(flags());
    expect(process.exitCode).toBe(0);
    expect(await listAttempts(target)).toMatchObject([
      { status: 'succeeded', exitCode: 0, labels: [label], error: null },
    ]);
  });

  it('exit 0 with a session completed with errors becomes exit 1, recorded failed', async () => {
    await wrapped(async () => {
      writeSession('completed with errors');
      process.exitCode = 0;
    })(flags());
    expect(process.exitCode).toBe(1);
    expect(await listAttempts(target)).toMatchObject([{ status: 'failed', exitCode: 1 }]);
  });

  it('exit 0 with no session written becomes exit 1, recorded with the reason', async () => {
    await wrapped(async () => {
      process.exitCode = 0;
    })(flags());
    expect(process.exitCode).toBe(1);
    expect(await listAttempts(target)).toMatchObject([{ status: 'failed', error: 'no session was written' }]);
  });

  it('a thrown error is recorded and thrown on (main prints it and exits 1)', async () => {
    await expect(
      wrapped(async () => {
        throw new Error('The backup target is in use: full backup by process 1');
      })(flags()),
    ).rejects.toThrow(/in use/);
    expect(await listAttempts(target)).toMatchObject([
      { status: 'failed', exitCode: 1, error: 'The backup target is in use: full backup by process 1' },
    ]);
  });

  it('bad input typed by hand records nothing; from cron it is recorded', async () => {
    const bad = async () => {
      throw new UsageError('-a: give all, or the accounts to back up');
    };
    await expect(
      wrapped(bad)({ ...flags(), unattended: false, mailReport: true, mailTo: 'a@x.example' }),
    ).rejects.toThrow(UsageError);
    expect(await listAttempts(target)).toEqual([]);
    await expect(wrapped(bad)(flags())).rejects.toThrow(UsageError);
    expect(await listAttempts(target)).toMatchObject([{ status: 'failed', exitCode: 2 }]);
  });

  it('bad report flags are exit 2 before anything runs, asynchronous or not', async () => {
    const action = vi.fn(async () => undefined);
    for (const bad of [
      { mailTo: 'a@x.example' },
      { mailReport: true, mailTo: 'nobody' },
      { mailReport: true, smtp: 'mx:0' },
    ])
      for (const sync of [true, false])
        await expect(wrapped(action)({ ...flags(), unattended: false, sync, ...bad })).rejects.toThrow(
          UsageError,
        );
    expect(action).not.toHaveBeenCalled();
    expect(await listAttempts(target)).toEqual([]);
  });

  it('the parent of an asynchronous backup is not recorded (its worker is)', async () => {
    await wrapped(async () => {
      process.exitCode = 0;
    })({ ...flags(), sync: false });
    expect(await listAttempts(target)).toEqual([]);
  });
});
