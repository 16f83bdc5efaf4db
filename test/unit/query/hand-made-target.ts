import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import {
  archiveFileName,
  CURRENT_REDO_VERSION,
  OP_CODES,
  RedoLogFileWriter,
  type RedoOp,
} from '../../../src-main/engine/redolog';
import { dumpFooter, dumpHeader } from '../../../src-main/engine/backup/sql-dump';
import { formatLabel } from '../../../src-main/engine/target/labels';
import { accountPaths } from '../../../src-main/engine/target/layout';
import {
  validateManifest,
  type Manifest,
  type RedoLogRecord,
} from '../../../src-main/engine/target/manifest';

/**
 * Hand-made backup targets for the query/plan/catalog tests: manifests that validate, with real
 * files behind them (mailbox.sql written the way engine/backup/sql-dump.ts writes it, with
 * mysql2's own escaping; redo logs written by the codec's writer).
 */
export const SERVER_ID = 'e00428a1-0c00-11d9-836a-000d93afea2a';
const sha = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

export function tempTarget(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mv-query-'));
}

export interface AccountSpec {
  zimbraId: string;
  email: string;
  mailboxId: number | null;
  status?: 'COMPLETED' | 'ERROR' | 'NOTSTARTED';
  snapshotMs?: number;
  /** mailbox.sql contents (fulls). */
  sql?: string;
}

export interface SessionSpec {
  type: 'full' | 'incremental';
  startMs: number;
  endMs?: number;
  status?: Manifest['status'];
  accounts: AccountSpec[];
  redoSeq?: [number, number] | null;
  redoLogs?: RedoLogRecord[];
  errors?: Manifest['errors'];
}

export function writeSession(target: string, spec: SessionSpec): string {
  const label = formatLabel(spec.type, spec.startMs);
  const dir = path.join(target, 'sessions', label);
  const files: Manifest['files'] = {};
  const put = (rel: string, data: string) => {
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
    files[rel] = { bytes: Buffer.byteLength(data), sha256: sha(data) };
  };
  put('sys/localconfig.xml', '<localconfig/>\n');
  put('ldap/directory.ldif', 'dn: dc=example,dc=com\n');
  const accounts = spec.accounts.map((a) => {
    const p = accountPaths(a.zimbraId);
    const own = [p.ldif];
    put(p.ldif, `dn: uid=${a.email.split('@')[0]},ou=people,dc=example,dc=com\n`);
    if (a.sql !== undefined) {
      put(p.mailboxSql, a.sql);
      own.push(p.mailboxSql);
    }
    const status = a.status ?? 'COMPLETED';
    return {
      zimbraId: a.zimbraId,
      email: a.email,
      mailboxId: a.mailboxId,
      status,
      ...(status === 'ERROR' ? { error: 'mailbox dump failed' } : {}),
      bytes: own.reduce((n, f) => n + files[f]!.bytes, 0),
      maintenance: a.snapshotMs === undefined ? null : { startMs: a.snapshotMs, endMs: a.snapshotMs + 50 },
      files: own,
    };
  });
  const status =
    spec.status ?? (accounts.some((a) => a.status === 'ERROR') ? 'completed with errors' : 'completed');
  const manifest = validateManifest({
    format: 1,
    label,
    type: spec.type,
    server: { hostname: 'mail.example.com', zimbraId: SERVER_ID },
    engineVersion: 'test',
    startMs: spec.startMs,
    endMs: spec.endMs ?? spec.startMs + 60_000,
    status,
    redo: {
      seq: spec.redoSeq ? { min: spec.redoSeq[0], max: spec.redoSeq[1] } : null,
      timeMs: null,
    },
    options: { zip: 'store', blobs: true, index: true },
    accounts,
    errors: spec.errors ?? [],
    ...(spec.redoLogs ? { redoLogs: spec.redoLogs } : {}),
    files,
  });
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return label;
}

// ---- mailbox.sql -------------------------------------------------------------------------

export interface DumpFolder {
  id: number;
  name: string;
  parent: number;
}

/** Zimbra's system folders under USER_ROOT, as a new mailbox has them. */
export const SYSTEM_FOLDERS: DumpFolder[] = [
  { id: 11, name: 'ROOT', parent: 11 },
  { id: 1, name: 'USER_ROOT', parent: 11 },
  { id: 2, name: 'Inbox', parent: 1 },
  { id: 3, name: 'Trash', parent: 1 },
  { id: 4, name: 'Junk', parent: 1 },
  { id: 5, name: 'Sent', parent: 1 },
];

/**
 * A mailbox.sql as sql-dump.ts writes it: mail_item rows (folders, then messages with awkward
 * subjects), a tombstone and a tag row, and an unrelated table.
 */
export function mailboxSql(
  mailboxId: number,
  folders: DumpFolder[],
  messages: Array<{ id: number; folder: number; change: number }>,
  extra: { tombstoneSeq?: number } = {},
): string {
  const q = (db: string, t: string) => `\`${db}\`.\`${t}\``;
  const item = q('mboxgroup1', 'mail_item');
  const cols =
    '`mailbox_id`, `id`, `type`, `parent_id`, `folder_id`, `date`, `size`, `name`, `subject`, `metadata`, `mod_metadata`, `mod_content`, `locator`';
  const rows = [
    ...folders.map((f) => [
      String(mailboxId),
      String(f.id),
      1,
      f.parent,
      f.parent,
      1600000000,
      0,
      f.name,
      null,
      'd1:vi1ee',
      1,
      1,
      null,
    ]),
    ...messages.map((m) => [
      mailboxId,
      m.id,
      5,
      m.folder,
      m.folder,
      1600000000,
      1234,
      null,
      `Re: it's "done", \\o/ (${m.id})\nline two;\t),(`,
      Buffer.from([0, 1, 2, 0x27]),
      m.change,
      m.change,
      '1',
    ]),
  ];
  const lines = [dumpHeader(`user (mailbox ${mailboxId}, mboxgroup1) on mail.example.com`)];
  lines.push(`DELETE FROM ${q('zimbra', 'mailbox')} WHERE \`id\` = ${mailboxId};`);
  lines.push(`INSERT INTO ${q('zimbra', 'mailbox')} (\`id\`, \`comment\`) VALUES\n(${mailboxId}, 'x');`);
  lines.push(`DELETE FROM ${item} WHERE \`mailbox_id\` = ${mailboxId};`);
  lines.push(
    `INSERT INTO ${item} (${cols}) VALUES\n${rows.map((r) => `(${r.map((v) => mysql.escape(v as never)).join(', ')})`).join(',\n')};`,
  );
  if (extra.tombstoneSeq !== undefined)
    lines.push(
      `INSERT INTO ${q('mboxgroup1', 'tombstone')} (\`mailbox_id\`, \`sequence\`, \`date\`, \`type\`, \`ids\`) VALUES\n(${mailboxId}, ${extra.tombstoneSeq}, 1600000000, 5, '300,301');`,
    );
  return `${lines.join('\n')}\n${dumpFooter}`;
}

// ---- redo logs -----------------------------------------------------------------------------

let counter = 0;

export interface TxnSpec {
  body: Omit<RedoOp, 'header'>;
  mailboxId: number;
  changeId: number;
  atMs: number;
  /** When it commits; null: never (mailboxd died); 'abort': an AbortTxn. */
  commitMs: number | null | 'abort';
}

/** The op record and its CommitTxn/AbortTxn, with one transaction id. */
export function txn(spec: TxnSpec): { op: RedoOp; end: RedoOp | null } {
  const txnId = { time: 1600000000, counter: ++counter };
  const header = (opCode: number, at: number, changeId: number) => ({
    version: CURRENT_REDO_VERSION,
    opCode,
    timestamp: at,
    changeId,
    changeConstraint: 0,
    txnId,
    mailboxId: spec.mailboxId,
  });
  const opCode = OP_CODES[spec.body.op]!;
  const op = { ...spec.body, header: header(opCode, spec.atMs, spec.changeId) } as RedoOp;
  if (spec.commitMs === null) return { op, end: null };
  const kind = spec.commitMs === 'abort' ? 'AbortTxn' : 'CommitTxn';
  const at = spec.commitMs === 'abort' ? spec.atMs + 1 : spec.commitMs;
  return { op, end: { op: kind, header: header(OP_CODES[kind]!, at, -1), txnOpCode: opCode } as RedoOp };
}

/** Writes records into redologs/ as an archived log; returns its manifest record. */
export async function writeRedoLog(target: string, seq: number, records: RedoOp[]): Promise<RedoLogRecord> {
  const dir = path.join(target, 'redologs');
  fs.mkdirSync(dir, { recursive: true });
  const times = records.map((r) => r.header.timestamp);
  const rollover = (times.length ? Math.max(...times) : Date.UTC(2021, 0, 1)) + 1;
  const name = archiveFileName(rollover, seq);
  const file = path.join(dir, name);
  const writer = await RedoLogFileWriter.create(file, { seq, serverId: SERVER_ID });
  for (const r of records) writer.append(r);
  await writer.close();
  const data = fs.readFileSync(file);
  return {
    name,
    seq,
    bytes: data.length,
    sha256: sha(data),
    firstOpMs: times.length ? Math.min(...times) : null,
    lastOpMs: times.length ? Math.max(...times) : null,
  };
}

export const deliver = (msgId: number, folderId: number) =>
  ({
    op: 'CreateMessage',
    rcptEmail: 'ann@example.com',
    receivedDate: 1600000000000,
    shared: false,
    digest: 'x',
    size: 10,
    msgId,
    folderId,
    convId: -msgId,
    convFirstMsgId: 0,
    mergedConvIds: [],
    calendarItemId: 0,
    calItemPartStat: 'NE',
    flags: 0,
    noICal: false,
    tags: [],
    path: ':streamed:',
    extended: null,
    body: { kind: 'inline', length: 3, data: Buffer.from('abc') },
  }) as Omit<RedoOp, 'header'>;

export const deleteItems = (ids: number[]) =>
  ({ op: 'DeleteItem', ids, itemType: 5, constraint: null }) as Omit<RedoOp, 'header'>;
export const moveItems = (ids: number[], targetFolderId: number) =>
  ({ op: 'MoveItem', ids, itemType: 5, targetFolderId, constraint: null, uidNext: -1 }) as Omit<
    RedoOp,
    'header'
  >;
export const emptyFolder = (folderId: number) =>
  ({ op: 'EmptyFolder', folderId, subfolders: true }) as Omit<RedoOp, 'header'>;
export const createFolder = (folderId: number, name: string, parentId: number) =>
  ({
    op: 'CreateFolder',
    name,
    parentId,
    attrs: 0,
    defaultView: 5,
    flags: 0,
    color: 0,
    url: '',
    folderId,
    uuid: null,
    date: null,
    custom: null,
  }) as Omit<RedoOp, 'header'>;
