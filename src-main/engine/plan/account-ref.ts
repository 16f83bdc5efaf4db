import type { Catalog } from '../catalog/catalog';

/**
 * An account as the administrator names it (email, any case, or zimbraId), found in the target's
 * catalog. One account may have several catalog entries (its mailbox id or address changed
 * between sessions); they are taken together.
 */
export interface AccountRef {
  indexes: Set<number>;
  /** The address and id of its latest entry. */
  email: string;
  zimbraId: string;
}

/** No session of the target holds the account. */
export class UnknownAccountError extends Error {}

export function resolveAccount(catalog: Catalog, nameOrId: string): AccountRef {
  const found = catalog.findAccount(nameOrId);
  if (found.length === 0)
    throw new UnknownAccountError(`-a ${nameOrId}: no session in this target holds that account`);
  // Several ids under one address: an account deleted and created again. The address names the
  // latest one; the older one is reached by its zimbraId.
  const holdings = catalog.holdings(new Set(found.map((a) => a.index)));
  const latest = holdings.at(-1)?.entry.account ?? found[0]!;
  const sameAccount = found.filter((a) => a.zimbraId === latest.zimbraId);
  return {
    indexes: new Set(sameAccount.map((a) => a.index)),
    email: latest.email,
    zimbraId: latest.zimbraId,
  };
}
