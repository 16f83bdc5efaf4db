import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, type Daemon } from './daemon';
import { run } from './exec';
import { toLdif, type LdifEntry } from './ldif';
import { canConnect, freePort } from './net';
import { resourcePath } from './resources';

/**
 * The lab's OpenLDAP: a real slapd with its own cn=config, Zimbra's schema (Zimbra OIDs), one mdb
 * database with the empty suffix as Zimbra configures it (so `cn=zimbra` and the domains' `dc=`
 * trees live side by side), and the admin bind user `uid=zimbra,cn=admins,cn=zimbra`.
 */
export interface SlapdOptions {
  /** Like /opt/zimbra/data/ldap: holds config/ and mdb/. */
  dir: string;
  host: string;
  port?: number;
  logFile: string;
  adminDn: string;
  /** Entries loaded with slapadd before the server starts (the base DIT). */
  seed: LdifEntry[];
  detached?: boolean;
}

export interface RunningSlapd extends Daemon {
  url: string;
}

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

function configLdif(dir: string, adminDn: string): string {
  const include = (file: string) => `include: file://${file}\n`;
  return [
    toLdif([
      {
        dn: 'cn=config',
        objectClass: 'olcGlobal',
        cn: 'config',
        olcPidFile: path.join(dir, 'slapd.pid'),
        olcArgsFile: path.join(dir, 'slapd.args'),
        olcLogLevel: 'none',
      },
      {
        dn: 'cn=module{0},cn=config',
        objectClass: 'olcModuleList',
        cn: 'module{0}',
        olcModulePath: MODULE_DIR,
        olcModuleLoad: 'back_mdb',
      },
      { dn: 'cn=schema,cn=config', objectClass: 'olcSchemaConfig', cn: 'schema' },
    ]),
    include(`${SCHEMA_DIR}/core.ldif`),
    include(`${SCHEMA_DIR}/cosine.ldif`),
    include(`${SCHEMA_DIR}/inetorgperson.ldif`),
    include(`${SCHEMA_DIR}/nis.ldif`),
    include(resourcePath('lab/ldap/zimbra-schema.ldif')),
    toLdif([
      {
        dn: 'olcDatabase={-1}frontend,cn=config',
        objectClass: ['olcDatabaseConfig', 'olcFrontendConfig'],
        olcDatabase: '{-1}frontend',
        olcSizeLimit: 'unlimited',
      },
      {
        dn: 'olcDatabase={0}config,cn=config',
        objectClass: 'olcDatabaseConfig',
        olcDatabase: '{0}config',
        olcAccess: '{0}to * by * none',
      },
      {
        dn: 'olcDatabase={1}mdb,cn=config',
        objectClass: ['olcDatabaseConfig', 'olcMdbConfig'],
        olcDatabase: '{1}mdb',
        // Zimbra's own slapd config: one database with the empty suffix.
        olcSuffix: '',
        olcDbDirectory: path.join(dir, 'mdb', 'db'),
        olcDbMaxSize: String(1024 * 1024 * 1024),
        olcDbIndex: [
          'objectClass eq',
          'uid eq',
          'zimbraId eq',
          'zimbraMailHost eq',
          'zimbraMailDeliveryAddress eq,sub',
          'zimbraDomainName eq',
        ],
        olcLimits: `dn.exact="${adminDn}" size=unlimited time=unlimited`,
        olcAccess: [
          `{0}to attrs=userPassword by dn.children="cn=admins,cn=zimbra" write by anonymous auth by * none`,
          `{1}to * by dn.children="cn=admins,cn=zimbra" write by users read by * none`,
        ],
      },
    ]),
  ].join('\n');
}

export async function startSlapd(o: SlapdOptions): Promise<RunningSlapd> {
  const configDir = path.join(o.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.mkdirSync(path.join(o.dir, 'mdb', 'db'), { recursive: true });
  const configFile = path.join(o.dir, 'config.ldif');
  fs.writeFileSync(configFile, configLdif(o.dir, o.adminDn));
  await run('slapadd', ['-n0', '-F', configDir, '-l', configFile]);
  const seedFile = path.join(o.dir, 'seed.ldif');
  fs.writeFileSync(seedFile, toLdif(o.seed), { mode: 0o600 });
  await run('slapadd', ['-n1', '-F', configDir, '-l', seedFile, '-q']);
  fs.rmSync(seedFile);

  const port = o.port ?? (await freePort(o.host));
  const url = `ldap://${o.host}:${port}`;
  const daemon = await startDaemon({
    name: `slapd (${url})`,
    command: '/usr/sbin/slapd',
    // -d keeps it in the foreground so the lab owns the process.
    args: ['-d', '0', '-F', configDir, '-h', `${url}/`],
    logFile: o.logFile,
    ready: () => canConnect(o.host, port),
    detached: o.detached,
  });
  return { ...daemon, url };
}
