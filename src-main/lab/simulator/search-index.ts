import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * A mailbox's search index as Lucene leaves it on disk: write-once segment files (`_<n>.cfs`,
 * `_<n>.cfe`, `_<n>.si`), per-segment deletions (`_<n>_<gen>.liv`), a `segments_<gen>` commit
 * point rewritten at each commit (older ones deleted), merges that replace many small segments
 * by one, and `write.lock` while the index is open. The bytes are ours (tokens, not Lucene's
 * codec): what matters to backups is the file churn, which matches Lucene's.
 */
export class SearchIndex {
  private pending: Array<{ itemId: number; words: string[] }> = [];
  private deletions: number[] = [];
  private segments: string[] = [];
  private generation = 0;
  private nextSegment = 0;

  constructor(
    readonly dir: string,
    private readonly flushEvery = 20,
    private readonly mergeAt = 10,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.load();
    fs.writeFileSync(path.join(dir, 'write.lock'), '');
  }

  /** Picks up an existing index (a new simulator process on a server that already has mail). */
  private load(): void {
    const commit = fs
      .readdirSync(this.dir)
      .filter((f) => /^segments_[0-9a-z]+$/.test(f))
      .sort((a, b) => parseInt(a.slice(9), 36) - parseInt(b.slice(9), 36))
      .pop();
    if (!commit) return;
    this.generation = parseInt(commit.slice(9), 36);
    const lines = fs.readFileSync(path.join(this.dir, commit), 'utf8').split('\n');
    this.nextSegment = Number(lines[0]?.split('=')[1] ?? 0);
    this.segments = lines.slice(1).filter(Boolean);
  }

  add(itemId: number, words: string[]): void {
    this.pending.push({ itemId, words });
    if (this.pending.length >= this.flushEvery) this.commit();
  }

  /** Adds a batch as one segment (a bulk import commits once per batch, not every flushEvery). */
  addBatch(docs: Array<{ itemId: number; words: string[] }>): void {
    this.pending.push(...docs);
    this.commit();
  }

  delete(itemIds: number[]): void {
    this.deletions.push(...itemIds);
    if (this.deletions.length >= this.flushEvery) this.commit();
  }

  /** Writes pending documents and deletions as Lucene would on commit. */
  commit(): void {
    if (this.pending.length === 0 && this.deletions.length === 0) return;
    if (this.pending.length > 0) {
      const name = `_${(this.nextSegment++).toString(36)}`;
      const postings = this.pending.map((d) => `${d.itemId}\t${d.words.join(' ')}`).join('\n');
      fs.writeFileSync(path.join(this.dir, `${name}.cfs`), postings);
      fs.writeFileSync(
        path.join(this.dir, `${name}.cfe`),
        crypto.createHash('md5').update(postings).digest(),
      );
      fs.writeFileSync(path.join(this.dir, `${name}.si`), `docs=${this.pending.length}\n`);
      this.segments.push(name);
      this.pending = [];
    }
    if (this.deletions.length > 0 && this.segments.length > 0) {
      const last = this.segments[this.segments.length - 1]!;
      fs.writeFileSync(
        path.join(this.dir, `${last}_${(this.generation + 1).toString(36)}.liv`),
        this.deletions.join(','),
      );
      this.deletions = [];
    }
    if (this.segments.length >= this.mergeAt) this.merge();
    this.writeCommitPoint();
  }

  private merge(): void {
    const name = `_${(this.nextSegment++).toString(36)}`;
    const merged: string[] = [];
    for (const segment of this.segments)
      merged.push(fs.readFileSync(path.join(this.dir, `${segment}.cfs`), 'utf8'));
    fs.writeFileSync(path.join(this.dir, `${name}.cfs`), merged.join('\n'));
    fs.writeFileSync(
      path.join(this.dir, `${name}.cfe`),
      crypto.createHash('md5').update(merged.join('\n')).digest(),
    );
    fs.writeFileSync(path.join(this.dir, `${name}.si`), `merged=${this.segments.length}\n`);
    const old = new Set(this.segments);
    for (const file of fs.readdirSync(this.dir)) {
      const segment = file.replace(/(_[0-9a-z]+)(_[0-9a-z]+)?\.(cfs|cfe|si|liv)$/, '$1');
      if (old.has(segment)) fs.rmSync(path.join(this.dir, file));
    }
    this.segments = [name];
  }

  private writeCommitPoint(): void {
    const previous = path.join(this.dir, `segments_${this.generation.toString(36)}`);
    this.generation++;
    const next = path.join(this.dir, `segments_${this.generation.toString(36)}`);
    fs.writeFileSync(next, [`next=${this.nextSegment}`, ...this.segments].join('\n') + '\n');
    fs.rmSync(previous, { force: true });
  }

  close(): void {
    this.commit();
    fs.rmSync(path.join(this.dir, 'write.lock'), { force: true });
  }
}
