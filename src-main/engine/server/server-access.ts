import { Client } from 'ldapts';
import mysql, { type Pool } from 'mysql2/promise';
import type { ConnectTarget, Transport } from '../transport/types';
import { parseLocalconfig, serverSettings, type ServerSettings } from './localconfig';
import { DeferredDuplex } from '../transport/deferred-duplex';
import { openTunnel, type Tunnel } from './tunnel';

/**
 * Everything the engine needs of one Zimbra mailbox server, found from its localconfig.xml the
 * way Zimbra's own tools do: MariaDB (socket locally, a forwarded channel over SSH), LDAP with the
 * zimbra bind user, the host name and the server's zimbraId.
 */
export interface ServerAccess {
  readonly name: string;
  readonly transport: Transport;
  readonly zimbraHome: string;
  readonly settings: ServerSettings;
  /** localconfig.xml as read, for the session's sys/ folder. */
  readonly localconfigXml: Buffer;
  readonly db: Pool;
  /** Closing it closes the transport too. */
  /** A new LDAP connection bound as zimbra_ldap_userdn; the caller unbinds it. */
  ldap(): Promise<Client>;
  close(): Promise<void>;
}

export class ServerAccessError extends Error {}

export interface ServerAccessOptions {
  zimbraHome?: string;
  /** The engine runs on the server itself: use the MariaDB socket and the LDAP URL directly. */
  local?: boolean;
  /** Connections in the MariaDB pool (one per account being dumped, plus system work). */
  dbConnections?: number;
}

function ldapTarget(url: string): ConnectTarget {
  const parsed = new URL(url);
  if (parsed.protocol === 'ldapi:')
    return { socketPath: decodeURIComponent(parsed.hostname || '/opt/zimbra/data/ldap/state/run/ldapi') };
  if (parsed.protocol !== 'ldap:')
    throw new ServerAccessError(
      `ldap_url ${url}: only ldap:// and ldapi:// are supported through the server connection`,
    );
  return { host: parsed.hostname, port: Number(parsed.port || 389) };
}

/**
 * The pool's default size: a restore's 8 replay players each hold a connection for their
 * transaction, plus one for the rest. With 4, players queued behind each other and each then
 * committed early (bench/restore.ts: 59 transactions instead of 8, MariaDB CPU 1.76 s instead of
 * 0.6 s). mysql2 opens connections only when they are asked for, so a smaller job opens fewer.
 */
export const DEFAULT_DB_CONNECTIONS = 9;

export async function openServerAccess(
  transport: Transport,
  options: ServerAccessOptions = {},
): Promise<ServerAccess> {
  const zimbraHome = options.zimbraHome ?? '/opt/zimbra';
  const localconfigXml = await transport.readFile(`${zimbraHome}/conf/localconfig.xml`);
  const settings = serverSettings(parseLocalconfig(localconfigXml.toString('utf8')));
  const tunnels: Tunnel[] = [];
  const connectionLimit = options.dbConnections ?? DEFAULT_DB_CONNECTIONS;
  const dbOptions = {
    user: settings.mysql.user,
    password: settings.mysql.password,
    connectionLimit,
    supportBigNumbers: true,
    bigNumberStrings: true,
    // A mailbox's tables are dumped with one multi-statement query (sql-dump.ts dumpTablesRows).
    // Every value the engine puts in SQL goes through placeholders or mysql.escape, identifiers
    // through quoting, so a second statement cannot be smuggled in.
    multipleStatements: true,
  };
  let db: Pool;
  let ldapUrl: string;
  try {
    if (options.local) {
      db = mysql.createPool({ ...dbOptions, socketPath: settings.mysql.socket });
      ldapUrl = settings.ldap.url;
    } else {
      // Each pool connection is a forwarded channel to the socket, read by mysql2 directly.
      const dbTarget: ConnectTarget = { socketPath: settings.mysql.socket };
      db = mysql.createPool({ ...dbOptions, stream: () => new DeferredDuplex(transport.connect(dbTarget)) });
      // ldapts opens its own socket: LDAP (a few small requests per account) goes through a port.
      const ldapTunnel = await openTunnel(transport, ldapTarget(settings.ldap.url));
      tunnels.push(ldapTunnel);
      ldapUrl = `ldap://${ldapTunnel.host}:${ldapTunnel.port}`;
    }
    await db.query('SELECT 1');
  } catch (error) {
    await Promise.all(tunnels.map((t) => t.close()));
    throw new ServerAccessError(
      `${transport.name}: cannot reach MariaDB (${settings.mysql.socket}): ${(error as Error).message}`,
    );
  }
  const ldap = async () => {
    const client = new Client({ url: ldapUrl, timeout: 30_000, connectTimeout: 10_000 });
    try {
      await client.bind(settings.ldap.bindDn, settings.ldap.password);
    } catch (error) {
      throw new ServerAccessError(
        `${transport.name}: cannot bind to LDAP ${settings.ldap.url} as ${settings.ldap.bindDn}: ${(error as Error).message}`,
      );
    }
    return client;
  };
  return {
    name: transport.name,
    transport,
    zimbraHome,
    settings,
    localconfigXml,
    db,
    ldap,
    close: async () => {
      await db.end().catch(() => undefined);
      await Promise.all(tunnels.map((t) => t.close()));
      await transport.close().catch(() => undefined);
    },
  };
}
