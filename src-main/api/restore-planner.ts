import fs from 'node:fs';
import { loadCatalog } from '../engine/catalog/catalog-load';
import { resolveAccount, UnknownAccountError, type AccountRef } from '../engine/plan/account-ref';
import { NoFullBackupError, planRestore } from '../engine/plan/restore-plan';
import { queryAccount } from '../engine/query/account-query';
import { formatRestoreTime } from '../engine/query/time-format';
import { quoteArg } from '../engine/transport';
import type { RestoreAccount, RestorePlanInfo, RestoreQuery, ServerProfile } from './contract';
import { ApiFailure } from './failure';

/**
 * The restore planner's answers, from the target's catalog alone (engine/catalog, engine/query,
 * engine/plan): which accounts the target holds, an account's restore points and destructive
 * bursts, and the plan for restoring it to an instant. Read-only: the catalog is not written back
 * (the CLI's zmbackupquery does that), and nothing is restored from here yet.
 */
async function catalogOf(target: string) {
  if (!fs.existsSync(target))
    throw new ApiFailure('not-found', `The backup target ${target} does not exist yet.`);
  return (await loadCatalog(target, { readOnly: true })).catalog;
}

function accountIn(catalog: Awaited<ReturnType<typeof catalogOf>>, name: string): AccountRef {
  try {
    return resolveAccount(catalog, name);
  } catch (error) {
    if (error instanceof UnknownAccountError)
      throw new ApiFailure('not-found', `No session in this target holds ${name}.`);
    throw error;
  }
}

export async function restoreAccounts(target: string): Promise<RestoreAccount[]> {
  if (!fs.existsSync(target)) return [];
  const catalog = await catalogOf(target);
  const latest = new Map<string, RestoreAccount>();
  for (const a of catalog.accounts) latest.set(a.zimbraId, { email: a.email, zimbraId: a.zimbraId });
  return [...latest.values()].sort((a, b) => a.email.localeCompare(b.email));
}

export async function restoreQuery(
  target: string,
  account: string,
  fromMs: number | undefined,
  toMs: number,
): Promise<RestoreQuery> {
  const catalog = await catalogOf(target);
  const result = await queryAccount(target, catalog, accountIn(catalog, account), { fromMs, toMs });
  return {
    account: result.account,
    window: result.window,
    sessions: result.sessions,
    best: result.bestPointInTime,
    bursts: result.bursts.map((b) => ({
      startMs: b.startMs,
      endMs: b.endMs,
      restoreToMs: b.restoreToMs,
      items: b.items,
      summary: b.summary,
      restore: b.restore,
    })),
    notes: result.notes,
  };
}

/** `mailvault zmrestore` for this plan, into a new account restored_<name>, over the server's access. */
function commandFor(profile: ServerProfile, email: string, toMs: number): string {
  // Quoted only where the shell needs it, so the line reads as an administrator would type it.
  const q = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : quoteArg(value));
  const parts = [
    'mailvault',
    'zmrestore',
    '-a',
    q(email),
    '--restoreToTime',
    formatRestoreTime(toMs),
    '--ca',
    '--pre',
    'restored_',
    // Only the target's redo logs, as planned (the plan is made from the target alone).
    '--br',
  ];
  if (profile.ssh) {
    parts.push('-s', q(`ssh://${profile.ssh.user}@${profile.ssh.host}:${profile.ssh.port}`));
    if (profile.ssh.auth === 'key' && profile.ssh.keyPath) parts.push('-i', q(profile.ssh.keyPath));
    if (profile.ssh.hostKey) parts.push('--host-key', q(profile.ssh.hostKey));
  }
  parts.push('--zimbra-home', q(profile.zimbraHome), '-t', q(profile.target));
  return parts.join(' ');
}

export async function restorePlan(
  profile: ServerProfile,
  account: string,
  toMs: number,
): Promise<RestorePlanInfo> {
  const target = profile.target;
  const catalog = await catalogOf(target);
  try {
    const plan = await planRestore(target, catalog, accountIn(catalog, account), toMs);
    return {
      account: { email: plan.account.email, zimbraId: plan.account.zimbraId },
      toMs: plan.toMs,
      full: {
        label: plan.full.label,
        startMs: plan.full.startMs,
        snapshotMs: plan.full.snapshotMs,
        bytes: plan.full.bytes,
        status: plan.full.status,
      },
      redoLogs: plan.redoLogs.map((l) => ({ name: l.name, seq: l.seq, bytes: l.bytes, session: l.session })),
      reachable: plan.reachable,
      restoresToMs: plan.restoresToMs,
      missing: plan.missing,
      bytesToRead: plan.bytesToRead,
      replay: plan.replay,
      folders: plan.folders,
      messages: plan.messages,
      problems: plan.problems,
      command: commandFor(profile, plan.account.email, plan.restoresToMs),
    };
  } catch (error) {
    if (error instanceof NoFullBackupError) throw new ApiFailure('not-found', `${error.message}.`);
    throw error;
  }
}
