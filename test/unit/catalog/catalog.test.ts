import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalogFile } from '../../../src-main/engine/catalog/catalog-files';
import { loadCatalog } from '../../../src-main/engine/catalog/catalog-load';
import { decodeCatalog, isWellFormedSession } from '../../../src-main/engine/catalog/catalog-format';
import { completeSessions } from '../../../src-main/engine/target/session-list';
import { tempTarget, writeSession } from '../query/hand-made-target';

const ANN = { zimbraId: '11111111-2222-4333-8444-555555555555', email: 'ann@example.com', mailboxId: 7 };
const BOB = { zimbraId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', email: 'bob@example.com', mailboxId: 8 };
const T0 = Date.UTC(2022, 0, 10, 3, 0, 0);
const HOUR = 3_600_000;
const ALL = { parts: ['columns', 'holders'] } as const satisfies Parameters<typeof loadCatalog>[1];

let target: string;
beforeEach(() => {
  target = tempTarget();
  writeSession(target, {
    type: 'full',
    startMs: T0,
    redoSeq: [1, 1],
    accounts: [
      { ...ANN, snapshotMs: T0 + 10 },
      { ...BOB, status: 'ERROR' },
    ],
  });
  writeSession(target, { type: 'incremental', startMs: T0 + HOUR, accounts: [{ ...ANN, mailboxId: null }] });
});
afterEach(() => fs.rmSync(target, { recursive: true, force: true }));

/** What the manifests say, the way the catalog summarizes it: the two must always agree. */
async function truth() {
  return (await completeSessions(target)).map((s) => ({
    label: s.label,
    status: s.manifest.status,
    accounts: s.manifest.accounts.map((a) => [a.email, a.status, a.bytes]),
  }));
}

async function fromCatalog() {
  const { catalog } = await loadCatalog(target, ALL);
  return catalog.sessions.map((s) => ({
    label: s.label,
    status: s.status,
    accounts: catalog.accountsOf(s).map((a) => [a.account.email, a.status, a.bytes]),
  }));
}

describe('the catalog', () => {
  it('is built when missing, written atomically into catalog/, then used as it is', async () => {
    const first = await loadCatalog(target, ALL);
    expect(first).toMatchObject({ state: 'rebuilt', reason: 'missing', manifestsRead: 2, written: true });
    // Its three files, and no temp file left.
    expect(fs.readdirSync(path.join(target, 'catalog')).sort()).toEqual([
      'catalog.json',
      'columns.json',
      'holders.txt',
    ]);
    const { body } = decodeCatalog(fs.readFileSync(catalogFile(target)));
    expect(body.sessions.every(isWellFormedSession)).toBe(true);
    const second = await loadCatalog(target, ALL);
    expect(second).toMatchObject({ state: 'fresh', manifestsRead: 0 });
    expect(await fromCatalog()).toEqual(await truth());
    const [full] = second.catalog.sessions;
    expect(second.catalog.accountsOf(full!)[1]).toMatchObject({
      status: 'ERROR',
      error: 'mailbox dump failed',
    });
  });

  it('is brought up to date when a session is added, changed or removed, reading only those', async () => {
    await loadCatalog(target, ALL);
    const added = writeSession(target, { type: 'full', startMs: T0 + 2 * HOUR, accounts: [ANN] });
    expect(await loadCatalog(target, ALL)).toMatchObject({ state: 'updated', manifestsRead: 1 });
    expect(await fromCatalog()).toEqual(await truth());

    // Changed in place (same label): another status.
    const file = path.join(target, 'sessions', added, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.status = 'aborted';
    fs.writeFileSync(file, JSON.stringify(manifest));
    expect(await loadCatalog(target, ALL)).toMatchObject({ state: 'updated', manifestsRead: 1 });
    expect((await fromCatalog()).at(-1)!.status).toBe('aborted');

    // The by-account index agrees with the sessions' columns after the update.
    const { catalog } = await loadCatalog(target, ALL);
    const byAccount = catalog.holdings(new Set(catalog.findAccount(ANN.email).map((a) => a.index)));
    expect(byAccount.map((h) => [h.session.label, h.entry.status, h.entry.bytes])).toEqual(
      (await truth()).flatMap((s) =>
        s.accounts
          .filter(([email]) => email === ANN.email)
          .map(([, status, bytes]) => [s.label, status, bytes]),
      ),
    );
    expect(byAccount[0]!.entry.snapshotMs).toBe(T0 + 10);

    fs.rmSync(path.join(target, 'sessions', added), { recursive: true });
    expect(await loadCatalog(target, ALL)).toMatchObject({ state: 'updated', manifestsRead: 0 });
    expect(await fromCatalog()).toEqual(await truth());
    expect((await fromCatalog()).map((s) => s.label)).not.toContain(added);
  });

  it('is rebuilt when corrupt: a flipped byte, a truncated file, garbage, a wrong format, in any of its files', async () => {
    await loadCatalog(target, ALL);
    for (const name of ['catalog.json', 'columns.json', 'holders.txt']) {
      const file = path.join(target, 'catalog', name);
      const good = fs.readFileSync(file);
      const damaged: Array<[string, Buffer | null]> = [
        ['flipped', Buffer.from(good.map((b, i) => (i === good.length - 20 ? b ^ 1 : b)))],
        ['truncated', good.subarray(0, good.length - 30)],
        ['garbage', Buffer.from('not a catalog at all')],
        ['format', Buffer.from(good.toString().replace('"format":2', '"format":99'))],
        ['empty', Buffer.alloc(0)],
        ['missing', null],
      ];
      for (const [what, data] of damaged) {
        const where = `${name} ${what}`;
        if (data) fs.writeFileSync(file, data);
        else fs.rmSync(file);
        const load = await loadCatalog(target, ALL);
        expect(load.state, where).toBe('rebuilt');
        expect(load.reason, where).toMatch(
          name === 'catalog.json' && what === 'missing' ? /^missing$/ : /^corrupt/,
        );
        expect(await fromCatalog(), where).toEqual(await truth());
        expect(fs.existsSync(file), where).toBe(true);
      }
    }
  });

  it('does not believe a damaged line of the holders index: answers from the columns, then rebuilds', async () => {
    await loadCatalog(target, ALL);
    const file = path.join(target, 'catalog', 'holders.txt');
    const lines = fs.readFileSync(file, 'latin1').split('\n');
    // Ann's line (the first account): one item's bytes changed, its checksum left as it was.
    lines[1] = lines[1]!.replace(/,C,([0-9a-z]+),/, (_, b: string) => `,C,${b}0,`);
    fs.writeFileSync(file, lines.join('\n'), 'latin1');
    const load = await loadCatalog(target, ALL);
    expect(load.state).toBe('fresh'); // lines are checked when used, not all at each load
    const ann = new Set(load.catalog.findAccount(ANN.email).map((a) => a.index));
    const [full] = await truth();
    expect(load.catalog.holdings(ann)[0]!.entry.bytes).toBe(full!.accounts[0]![2]);
    expect(fs.existsSync(file)).toBe(false);
    expect(await loadCatalog(target, ALL)).toMatchObject({ state: 'rebuilt' });
  });

  it('is rebuilt when its files are of different generations (a crash between their writes)', async () => {
    await loadCatalog(target, ALL);
    const columns = path.join(target, 'catalog', 'columns.json');
    const before = fs.readFileSync(columns);
    writeSession(target, { type: 'full', startMs: T0 + 2 * HOUR, accounts: [ANN, BOB] });
    expect(await loadCatalog(target, ALL)).toMatchObject({ state: 'updated' });
    fs.writeFileSync(columns, before); // the previous generation's columns, same shape otherwise
    const load = await loadCatalog(target, ALL);
    expect(load.state).toBe('rebuilt');
    expect(load.reason).toMatch(/another generation/);
    expect(await fromCatalog()).toEqual(await truth());
  });

  it('records sessions whose manifest is missing or invalid, and keeps them out of the answers', async () => {
    const broken = writeSession(target, { type: 'incremental', startMs: T0 + 3 * HOUR, accounts: [ANN] });
    fs.writeFileSync(path.join(target, 'sessions', broken, 'manifest.json'), '{"format":1');
    fs.mkdirSync(path.join(target, 'sessions', 'full-20220110.070000.000'));
    const { catalog } = await loadCatalog(target, ALL);
    expect(catalog.invalid.map((s) => s.label)).toEqual([broken, 'full-20220110.070000.000']);
    expect(catalog.invalid[1]!.reason).toBe('no manifest.json');
    expect(catalog.sessions.map((s) => s.label)).not.toContain(broken);
    // Repaired: read again.
    fs.rmSync(path.join(target, 'sessions', broken), { recursive: true });
    writeSession(target, { type: 'incremental', startMs: T0 + 3 * HOUR, accounts: [ANN] });
    const again = await loadCatalog(target, ALL);
    expect(again.catalog.sessions.map((s) => s.label)).toContain(broken);
    expect(again.catalog.invalid).toHaveLength(1);
  });

  it('still answers when the target cannot be written (read-only media)', async () => {
    const load = await loadCatalog(target, { readOnly: true, parts: ['columns', 'holders'] });
    expect(load).toMatchObject({ state: 'rebuilt', written: false });
    expect(fs.existsSync(catalogFile(target))).toBe(false);
    expect(load.catalog.sessions).toHaveLength(2);
  });

  it('finds accounts by address in any case or by zimbraId, across mailbox ids', async () => {
    writeSession(target, { type: 'full', startMs: T0 + 5 * HOUR, accounts: [{ ...ANN, mailboxId: 42 }] });
    const { catalog } = await loadCatalog(target, ALL);
    expect(
      catalog
        .findAccount('ANN@Example.com')
        .map((a) => String(a.mailboxId))
        .sort(),
    ).toEqual(['42', '7', 'null']);
    expect(catalog.findAccount(ANN.zimbraId.toUpperCase())).toHaveLength(3);
    expect(catalog.findAccount('nobody@example.com')).toEqual([]);
    // Non-ASCII addresses survive the catalog's ASCII encoding.
    const zoe = {
      zimbraId: '22222222-3333-4444-8555-666666666666',
      email: 'zoë.ünal@exämple.com',
      mailboxId: 9,
    };
    writeSession(target, { type: 'full', startMs: T0 + 6 * HOUR, accounts: [zoe] });
    await loadCatalog(target, ALL);
    expect(fs.readFileSync(catalogFile(target)).every((b) => b < 0x80)).toBe(true);
    const again = (await loadCatalog(target, ALL)).catalog;
    expect(again.findAccount('ZOË.ünal@exämple.com').map((a) => a.email)).toEqual([zoe.email]);
  });
});
