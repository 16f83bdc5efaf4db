import type { Client } from 'ldapts';
import type { RowDataPacket } from 'mysql2/promise';
import { accountsOnServer } from '../engine/ldap/directory';
import { parseLocalconfig, serverSettings, type ServerSettings } from '../engine/server/localconfig';
import { openServerAccess, type ServerAccess } from '../engine/server/server-access';
import { volumeFromRow, VOLUME_TYPE } from '../engine/server/volumes';
import { openTransport, TransportError, type Transport } from '../engine/transport';
import type { ConnectionStep, ConnectionStepResult, ConnectionTest } from './contract';
import { transportProfileOf, type ConnectSpec } from './server-connect';

const ORDER: ConnectionStep[] = ['ssh', 'localconfig', 'mariadb', 'ldap', 'volumes', 'accounts'];

/**
 * "Test connection", step by step as an administrator would check a server by hand: SSH (the host
 * key first: an unpinned key stops the test at `confirm` with its fingerprint, and nothing is
 * sent to the server until it is confirmed), localconfig.xml, MariaDB, LDAP, the volumes, and the
 * accounts whose mailbox is on this server. The first failing step ends the test; later steps
 * show as skipped.
 */
export async function testConnection(spec: ConnectSpec): Promise<ConnectionTest> {
  const steps: ConnectionStepResult[] = [];
  const result: ConnectionTest = { ok: false, steps };
  const done = (step: ConnectionStep, outcome: ConnectionStepResult['outcome'], detail: string) =>
    steps.push({ step, outcome, detail });
  const finish = (): ConnectionTest => {
    for (const step of ORDER.slice(steps.length)) done(step, 'skipped', 'Not tried.');
    return result;
  };

  let transport: Transport;
  let offered: string | undefined;
  try {
    transport = await openTransport(transportProfileOf(spec), {
      readyTimeoutMs: 15_000,
      // Only reached when no key is pinned: remember what was offered and refuse it for now.
      onUnknownHostKey: async (fingerprint) => {
        offered = fingerprint;
        return false;
      },
    });
  } catch (error) {
    if (error instanceof TransportError && error.code === 'HOST_KEY_UNKNOWN' && offered) {
      result.fingerprint = offered;
      done(
        'ssh',
        'confirm',
        `The server offers host key ${offered}. Compare it with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before trusting it.`,
      );
    } else done('ssh', 'failed', message(error));
    return finish();
  }
  let access: ServerAccess | undefined;
  try {
    if (spec.access === 'ssh') {
      result.fingerprint = spec.ssh?.hostKey;
      done(
        'ssh',
        'ok',
        `Logged in as ${spec.ssh?.user}; host key ${spec.ssh?.hostKey} matches the pinned one.`,
      );
    } else done('ssh', 'skipped', 'Local server: no SSH.');

    let settings: ServerSettings;
    const file = `${spec.zimbraHome}/conf/localconfig.xml`;
    try {
      settings = serverSettings(parseLocalconfig((await transport.readFile(file)).toString('utf8')));
    } catch (error) {
      const why = message(error);
      done('localconfig', 'failed', why.includes(file) ? why : `${file}: ${why}`);
      return finish();
    }
    result.hostname = settings.hostname;
    done('localconfig', 'ok', `${file}: zimbra_server_hostname ${settings.hostname}.`);

    try {
      access = await openServerAccess(transport, {
        zimbraHome: spec.zimbraHome,
        local: spec.access === 'local',
        dbConnections: 1,
      });
    } catch (error) {
      done('mariadb', 'failed', message(error));
      return finish();
    }
    const [version] = await access.db.query<RowDataPacket[]>('SELECT VERSION() AS v');
    done(
      'mariadb',
      'ok',
      `MariaDB ${String(version[0]?.v)} as ${settings.mysql.user}, ${settings.mailboxGroups} mailbox groups.`,
    );

    let ldap: Client;
    try {
      ldap = await access.ldap();
    } catch (error) {
      done('ldap', 'failed', message(error));
      return finish();
    }
    try {
      done('ldap', 'ok', `Bound to ${settings.ldap.url} as ${settings.ldap.bindDn}.`);
      try {
        const [rows] = await access.db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume ORDER BY id');
        const volumes = rows.map((row) => volumeFromRow(row));
        const kind = (type: number) =>
          type === VOLUME_TYPE.index
            ? 'index'
            : type === VOLUME_TYPE.secondaryMessage
              ? 'secondary'
              : 'message';
        const missing: string[] = [];
        for (const v of volumes) if (!(await transport.stat(v.path))) missing.push(v.path);
        const list = volumes.map((v) => `${kind(v.type)} ${v.path}`).join(', ');
        if (missing.length > 0)
          done('volumes', 'failed', `${list}; missing on the server: ${missing.join(', ')}.`);
        else done('volumes', 'ok', `${volumes.length} volume(s): ${list}.`);
      } catch (error) {
        done('volumes', 'failed', message(error));
      }
      if (steps.at(-1)?.outcome === 'failed') return finish();
      try {
        const accounts = await accountsOnServer(ldap, settings.hostname);
        result.accounts = accounts.length;
        done('accounts', 'ok', `${accounts.length} account(s) with their mailbox on ${settings.hostname}.`);
      } catch (error) {
        done('accounts', 'failed', message(error));
        return finish();
      }
    } finally {
      await ldap.unbind().catch(() => undefined);
    }
    result.ok = true;
    return result;
  } finally {
    if (access) await access.close();
    else await transport.close().catch(() => undefined);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
