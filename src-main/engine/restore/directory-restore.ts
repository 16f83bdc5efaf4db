import fs from 'node:fs';
import { Attribute, type Client } from 'ldapts';
import type { LdifEntry } from '../ldap/ldif';
import { resolveInside, SESSION_FILES, sessionDir } from '../target/layout';
import type { Manifest } from '../target/manifest';
import { attribute, parseLdif } from './ldif-read';

/**
 * Disaster recovery onto an empty directory (-ra): before any account, the entries of the
 * session's directory.ldif that the server's directory lacks, parents before children (so
 * domains and their ou=people come before the accounts in them). Accounts are not added here:
 * each comes from its own ldap.ldif, with maintenance. Entries that exist are left as they are.
 */
export async function restoreDirectorySkeleton(
  ldap: Client,
  target: string,
  manifest: Manifest,
): Promise<string[]> {
  if (!(SESSION_FILES.directoryLdif in manifest.files)) return [];
  const file = resolveInside(sessionDir(target, manifest.label), SESSION_FILES.directoryLdif);
  const entries = parseLdif(await fs.promises.readFile(file, 'utf8'))
    .filter((e) => !attribute(e, 'objectClass').some((c) => String(c).toLowerCase() === 'zimbraaccount'))
    .sort((a, b) => depth(a) - depth(b));
  const added: string[] = [];
  for (const entry of entries) {
    if (entry.dn === '' || (await exists(ldap, entry.dn))) continue;
    await add(ldap, entry);
    added.push(entry.dn);
  }
  return added;
}

const depth = (e: LdifEntry) => (e.dn === '' ? 0 : e.dn.split(/(?<!\\),/).length);

async function exists(ldap: Client, dn: string): Promise<boolean> {
  try {
    const { searchEntries } = await ldap.search(dn, { scope: 'base', attributes: ['1.1'] });
    return searchEntries.length > 0;
  } catch (error) {
    if ((error as { code?: number }).code === 32) return false; // noSuchObject
    throw error;
  }
}

async function add(ldap: Client, entry: LdifEntry): Promise<void> {
  const attributes = Object.entries(entry.attributes).map(
    ([type, values]) =>
      new Attribute({
        type,
        values: values.every((v) => typeof v === 'string')
          ? (values as string[])
          : values.map((v) => Buffer.from(v)),
      }),
  );
  await ldap.add(entry.dn, attributes);
}
