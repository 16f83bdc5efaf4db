import fs from 'node:fs';
import type { ServerAccess } from '../server/server-access';
import { serverFiles } from '../replay/server-files';
import { resolveInside, SESSION_FILES, sessionDir } from '../target/layout';
import type { Manifest } from '../target/manifest';
import { restoredLocalconfigPath } from './mailbox-files';
import { loadSqlDump } from './sql-load';

/**
 * -sys: the system tables of database zimbra as the session dumped them (each table emptied and
 * reloaded, in one transaction), and localconfig.xml written beside the live one as
 * localconfig.xml.restored, never over it (zimbra-facts §1.4).
 */
export interface SystemRestore {
  label: string;
  tables: string[];
  localconfig: string | null;
}

export async function restoreSystemData(
  server: ServerAccess,
  target: string,
  manifest: Manifest,
): Promise<SystemRestore> {
  const dir = sessionDir(target, manifest.label);
  const dumps = Object.keys(manifest.files).filter((f) => /^sys\/[A-Za-z0-9_$]+\.sql$/.test(f));
  const out: SystemRestore = { label: manifest.label, tables: [], localconfig: null };
  const c = await server.db.getConnection();
  try {
    await c.query('SET FOREIGN_KEY_CHECKS = 0');
    await c.beginTransaction();
    for (const dump of dumps) {
      await loadSqlDump(c, resolveInside(dir, dump), undefined, { runDeletes: true });
      out.tables.push(dump.slice(4, -4));
    }
    await c.commit();
  } catch (error) {
    await c.rollback().catch(() => undefined);
    throw error;
  } finally {
    await c.query('SET FOREIGN_KEY_CHECKS = 1').catch(() => undefined);
    c.release();
  }
  if (SESSION_FILES.localconfig in manifest.files) {
    const file = restoredLocalconfigPath(server.zimbraHome);
    await serverFiles(server.transport).writeFile(
      file,
      await fs.promises.readFile(resolveInside(dir, SESSION_FILES.localconfig)),
    );
    out.localconfig = file;
  }
  return out;
}
