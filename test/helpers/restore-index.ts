import fs from 'node:fs';
import path from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { blobPath, indexDir, mailboxGroupDb, volumeFromRow } from '../../src-main/engine/server/volumes';
import { SearchIndex } from '../../src-main/lab/simulator/search-index';

/**
 * The lab's stand-in for what mailboxd does on `zmprov rim <account> start`: the mailbox's index
 * rebuilt from its messages as they are now (rows and blobs), one document per message with the
 * words the simulator indexes at delivery (subject words, then the first words of the text).
 * And the logical content of an index on disk: its live documents, whatever its segments.
 */
export type IndexDocs = Record<string, string>;

/** Live documents of a simulator index: the commit point's segments, less their deletions. */
export function indexedDocs(dir: string): IndexDocs {
  if (!fs.existsSync(dir)) return {};
  const files = fs.readdirSync(dir);
  const commit = files
    .filter((f) => /^segments_[0-9a-z]+$/.test(f))
    .sort((a, b) => parseInt(a.slice(9), 36) - parseInt(b.slice(9), 36))
    .pop();
  if (!commit) return {};
  const segments = fs.readFileSync(path.join(dir, commit), 'utf8').split('\n').slice(1).filter(Boolean);
  const docs: IndexDocs = {};
  const deleted = new Set<string>();
  for (const segment of segments) {
    for (const line of fs
      .readFileSync(path.join(dir, `${segment}.cfs`), 'utf8')
      .split('\n')
      .filter(Boolean)) {
      const tab = line.indexOf('\t');
      docs[line.slice(0, tab)] = line.slice(tab + 1);
    }
    for (const f of files)
      if (f.startsWith(`${segment}_`) && f.endsWith('.liv'))
        for (const id of fs.readFileSync(path.join(dir, f), 'utf8').split(',').filter(Boolean))
          deleted.add(id);
  }
  for (const id of deleted) delete docs[id];
  return docs;
}

/** The words the simulator indexes for a delivered message, read back from its bytes. */
function wordsOf(raw: string): string[] {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const subject = /^Subject: (.*)$/m.exec(raw.slice(0, headerEnd))?.[1]?.replace(/\r$/, '') ?? '';
  const boundary = /boundary="([^"]+)"/.exec(raw.slice(0, headerEnd))?.[1];
  let body = raw.slice(headerEnd + 4);
  if (boundary) {
    const part = body.split(`--${boundary}`)[1] ?? '';
    body = part.slice(part.indexOf('\r\n\r\n') + 4).split(`\r\n--${boundary}`)[0]!;
  }
  const subjectWords = subject.replace(/^Re: /, '').split(' ');
  return [...subjectWords, ...body.slice(0, 400).split(/\s+/).filter(Boolean).slice(0, 40)];
}

export async function reindexMailbox(db: Pool, mailboxId: number): Promise<void> {
  const [count] = await db.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mboxgroup%'",
  );
  const groups = Number(count[0]?.n);
  const [volumes] = await db.query<RowDataPacket[]>('SELECT * FROM zimbra.volume');
  const all = volumes.map(volumeFromRow);
  const index = all.find((v) => v.type === 10)!;
  const dir = indexDir(index, mailboxId);
  fs.rmSync(dir, { recursive: true, force: true });
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, locator, mod_content FROM ${mailboxGroupDb(mailboxId, groups)}.mail_item WHERE mailbox_id = ? AND type = 5 ORDER BY id`,
    [mailboxId],
  );
  const rebuilt = new SearchIndex(dir);
  rebuilt.addBatch(
    rows.map((r) => {
      const volume = all.find((v) => String(v.id) === String(r.locator))!;
      const raw = fs.readFileSync(blobPath(volume, mailboxId, Number(r.id), Number(r.mod_content)), 'utf8');
      return { itemId: Number(r.id), words: wordsOf(raw) };
    }),
  );
  rebuilt.close();
}
