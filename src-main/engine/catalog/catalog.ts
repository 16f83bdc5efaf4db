import fs from 'node:fs';
import { isZimbraId } from '../target/layout';
import { type AccountStatus } from '../target/manifest';
import {
  accountStatusOf,
  COLUMNS_FILE,
  CorruptCatalogError,
  decodePart,
  HOLDERS_FILE,
  HoldersFile,
  type CatalogBody,
  type CatalogInvalid,
  type CatalogSession,
  type SessionColumns,
} from './catalog-format';
import { decodeColumns, holdersOf } from './catalog-entries';
import { partFile } from './catalog-files';

export type { CatalogPart } from './catalog-files';

export interface CatalogAccount {
  index: number;
  zimbraId: string;
  email: string;
  mailboxId: number | null;
}

export interface AccountInSession {
  account: CatalogAccount;
  status: AccountStatus;
  bytes: number;
  snapshotMs: number | null;
  error?: string;
}

/** A session of the catalog and one account's entry in it. */
export interface Holding {
  session: CatalogSession;
  entry: AccountInSession;
}

/** A loaded catalog, with the look-ups query and plan need. Sessions are oldest first. */
export class Catalog {
  readonly accounts: CatalogAccount[];
  private positions: Map<CatalogSession, number> | null = null;
  private readonly holdingsCache = new Map<string, Holding[]>();

  constructor(
    readonly body: CatalogBody,
    readonly generation: string,
    private columns: SessionColumns[] | null,
    private holders: string[] | HoldersFile | null,
    /** Where the catalog lives, to fall back on its columns if a holders line is damaged. */
    private readonly target: string | null = null,
  ) {
    this.accounts = body.accounts.map(([zimbraId, email, mailboxId], index) => ({
      index,
      zimbraId,
      email,
      mailboxId,
    }));
  }

  get sessions(): CatalogSession[] {
    return this.body.sessions;
  }

  get invalid(): CatalogInvalid[] {
    return this.body.invalid;
  }

  /** The columns of every session (for writing the catalog, and -v). */
  get allColumns(): SessionColumns[] {
    if (!this.columns) throw new Error('catalog loaded without its columns');
    return this.columns;
  }

  get allHolders(): string[] {
    if (!this.holders) throw new Error('catalog loaded without its holders');
    const h = this.holders;
    return Array.isArray(h) ? h : Array.from({ length: h.count }, (_, i) => this.holderLine(i));
  }

  /**
   * One account's holders. A damaged line of holders.txt is not believed: the same line is
   * derived from the columns (checked whole), and holders.txt is removed so that the next load
   * rebuilds the catalog.
   */
  private holderLine(index: number): string {
    const h = this.holders;
    if (!h) throw new Error('catalog loaded without its holders');
    if (Array.isArray(h)) return h[index] ?? '';
    try {
      return h.line(index);
    } catch (error) {
      if (!(error instanceof CorruptCatalogError) || !this.target) throw error;
      // Removed first: whatever happens next, the next reader rebuilds the catalog.
      fs.rmSync(partFile(this.target, HOLDERS_FILE), { force: true });
      if (!this.columns) {
        const data = fs.readFileSync(partFile(this.target, COLUMNS_FILE));
        this.columns = decodePart(
          data,
          COLUMNS_FILE,
          'columns',
          this.generation,
          this.sessions.length,
        ) as SessionColumns[];
      }
      this.holders = holdersOf(this.sessions, this.columns, this.accounts.length);
      return this.holders[index] ?? '';
    }
  }

  /** Account entries matching an email (any case) or a zimbraId; several when a mailbox id changed. */
  findAccount(nameOrId: string): CatalogAccount[] {
    const wanted = nameOrId.toLowerCase();
    const byId = isZimbraId(nameOrId);
    return this.accounts.filter((a) => (byId ? a.zimbraId === wanted : a.email.toLowerCase() === wanted));
  }

  /**
   * Every session holding one of these account entries, oldest first, with the account's entry
   * there: read from the holders index, without decoding the sessions.
   */
  holdings(indexes: ReadonlySet<number>): Holding[] {
    // A query asks for the same account several times (resolve, sessions, fulls): decoded once.
    const key = [...indexes].sort((a, b) => a - b).join(',');
    let cached = this.holdingsCache.get(key);
    if (!cached) {
      cached = this.decodeHoldings(indexes);
      this.holdingsCache.set(key, cached);
    }
    return cached;
  }

  private decodeHoldings(indexes: ReadonlySet<number>): Holding[] {
    const found: Array<Holding & { at: number }> = [];
    for (const index of indexes) {
      const text = this.holderLine(index);
      if (!text) continue;
      for (const item of text.split(';')) {
        const [s, p, code, b, t] = item.split(',');
        const at = parseInt(s!, 36);
        const session = this.body.sessions[at];
        if (!session || code === undefined || b === undefined || t === undefined)
          throw new CorruptCatalogError('a holder names no session');
        const position = parseInt(p!, 36);
        const error = session.accountErrors[String(position)];
        found.push({
          at,
          session,
          entry: {
            account: this.accounts[index]!,
            status: accountStatusOf(code),
            bytes: parseInt(b, 36),
            snapshotMs: t === '' ? null : session.startMs + parseInt(t, 36),
            ...(error ? { error } : {}),
          },
        });
      }
    }
    return found.sort((x, y) => x.at - y.at).map(({ session, entry }) => ({ session, entry }));
  }

  /** Every account of a session, in the manifest's order. */
  accountsOf(session: CatalogSession): AccountInSession[] {
    this.positions ??= new Map(this.body.sessions.map((s, at) => [s, at]));
    const at = this.positions.get(session);
    if (at === undefined) throw new Error(`${session.label} is not in this catalog`);
    const c = decodeColumns(session, this.allColumns[at]!);
    return c.accounts.map((index, p) => {
      const error = session.accountErrors[String(p)];
      return {
        account: this.accounts[index]!,
        status: accountStatusOf(c.statusCodes[p]!),
        bytes: c.bytes[p]!,
        snapshotMs: c.snapshots[p]!,
        ...(error ? { error } : {}),
      };
    });
  }
}
