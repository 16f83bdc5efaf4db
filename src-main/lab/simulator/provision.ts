import type { RowDataPacket } from 'mysql2/promise';
import { indexDir, mailboxGroupDb } from '../../engine/server/volumes';
import { accountEntry, addEntry } from './accounts';
import type { SimContext } from './context';
import { transaction } from './logged-change';
import * as rows from './mailbox';
import { SimMailbox } from './mailbox';
import * as ops from './redo-ops';
import { SearchIndex } from './search-index';

/**
 * Creates accounts as zmprov ca and a first login do: the LDAP entry, then the mailbox (its id
 * from current_volumes, its rows and system folders), logged as CreateMailbox.
 */
export async function provision(sim: SimContext, localParts: string[]): Promise<SimMailbox[]> {
  const created: SimMailbox[] = [];
  for (const local of localParts) {
    const email = `${local}@${sim.server.ldap.baseDn
      .split(',')
      .map((p) => p.slice(3))
      .join('.')}`;
    const zimbraId = sim.random.uuid();
    await addEntry(
      sim.ldap,
      accountEntry(email, zimbraId, sim.server.hostname, `pw-${zimbraId.slice(0, 8)}`),
    );
    const mailboxId = await transaction(sim, async (c) => {
      const [cv] = await c.query<RowDataPacket[]>(
        'SELECT next_mailbox_id FROM zimbra.current_volumes FOR UPDATE',
      );
      const id = Number(cv[0]?.next_mailbox_id ?? 1);
      await c.query('UPDATE zimbra.current_volumes SET next_mailbox_id = ?', [id + 1]);
      return id;
    });
    const m = new SimMailbox(
      email,
      zimbraId,
      mailboxId,
      mailboxGroupDb(mailboxId, sim.groups),
      new SearchIndex(indexDir(sim.indexVolume, mailboxId)),
    );
    const prepared = await sim.redo.prepare(ops.createMailbox(zimbraId), mailboxId, 1);
    const at = Math.floor(prepared.op.header.timestamp / 1000);
    await transaction(sim, (c) => rows.insertNewMailbox(c, m, sim.groups, sim.indexVolume.id, at));
    m.lastCommit = { ms: await sim.redo.commit(prepared), changeId: 1 };
    sim.mailboxes.set(email, m);
    created.push(m);
  }
  return created;
}
