import type { MailboxDigest } from '../../src-main/engine/digest/mailbox-digest';

/**
 * Comparing a mailbox restored into a new account (-ca) with the original's recorded digest:
 * ids differ, so rows are compared as sorted sets with the mailbox and account ids normalized,
 * the way mailboxDigest normalizes the copy's with normalizeIds.
 */
export const COPY_IGNORE = { normalizeIds: true, ignoreColumns: ['mailbox.comment', 'mailbox.group_id'] };

/** Each table's rows as a sorted list (keys differ once ids are normalized; a new mailbox may be in another group). */
export function rowSets(d: MailboxDigest): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(d.rows).map(([table, byKey]) => [
      table.replace(/^mboxgroup\d+\./, 'mboxgroup.'),
      Object.values(byKey)
        .map((v) => JSON.stringify(v))
        .sort(),
    ]),
  );
}

/** A recorded digest as mailboxDigest would give it with normalizeIds and those columns ignored. */
export function normalizeForCopy(
  d: MailboxDigest,
  ignore: string[] = COPY_IGNORE.ignoreColumns,
): MailboxDigest {
  const rows: typeof d.rows = {};
  for (const [table, byKey] of Object.entries(d.rows)) {
    const name = table.split('.')[1]!;
    const mailboxColumn = table === 'zimbra.mailbox' ? 'id' : 'mailbox_id';
    rows[table] = {};
    for (const row of Object.values(byKey)) {
      const values: Record<string, string | null> = {};
      for (const [column, value] of Object.entries(row)) {
        if (ignore.includes(`${name}.${column}`)) continue;
        values[column] = column === mailboxColumn ? 'MAILBOX' : value === d.accountId ? 'ACCOUNT' : value;
      }
      rows[table]![JSON.stringify(values)] = values;
    }
  }
  const ldap = Object.fromEntries(
    Object.entries(d.ldap).filter(
      ([k]) => !['zimbraid', 'uid', 'mail', 'cn', 'zimbramaildeliveryaddress'].includes(k.toLowerCase()),
    ),
  );
  return { ...d, rows, ldap };
}

/** What differs between a copy's digest (taken with COPY_IGNORE) and the original's at T. */
export function copyDiff(expectedAtT: MailboxDigest, copy: MailboxDigest): string[] {
  const expected = normalizeForCopy(expectedAtT);
  const out: string[] = [];
  const a = rowSets(expected);
  const b = rowSets(copy);
  for (const table of new Set([...Object.keys(a), ...Object.keys(b)]))
    if (JSON.stringify(a[table] ?? []) !== JSON.stringify(b[table] ?? []))
      out.push(`rows of ${table} differ`);
  const canon = (o: object) => JSON.stringify(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
  if (canon(expected.blobs) !== canon(copy.blobs)) out.push('blobs differ');
  if (canon(expected.ldap) !== canon(copy.ldap)) out.push('ldap differs');
  return out;
}
