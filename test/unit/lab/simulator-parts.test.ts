import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMetadata } from '../../../src-main/lab/simulator/metadata';
import { generateMessage } from '../../../src-main/lab/simulator/messages';
import { Random } from '../../../src-main/lab/simulator/random';
import { SearchIndex } from '../../../src-main/lab/simulator/search-index';

describe('simulator building blocks', () => {
  it('replays the same random stream from the same seed, and another from another', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const run = (r: Random) => Array.from({ length: 20 }, () => r.int(0, 1000));
    const ra = run(a);
    expect(run(b)).toEqual(ra);
    expect(run(c)).not.toEqual(ra);
    expect(new Random(1).uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('generates the same message bytes from the same seed, near the asked size', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const one = generateMessage(new Random('m'), ['a@example.com'], 5000, at);
    const two = generateMessage(new Random('m'), ['a@example.com'], 5000, at);
    expect(one.raw.equals(two.raw)).toBe(true);
    expect(one.raw.toString()).toMatch(/^Return-Path: .*\r\nFrom: .*\r\nTo: a@example.com\r\nSubject: /);
    expect(one.raw.length).toBeGreaterThan(2000);
    expect(one.raw.length).toBeLessThan(12000);
  });

  it('encodes Zimbra metadata with sorted keys and byte lengths', () => {
    expect(encodeMetadata({ v: 10, f: 'héllo', l: [1, 'a'] })).toBe('d1:f6:héllo1:lli1e1:ae1:vi10ee');
  });

  it('keeps the index like Lucene: new segments, one commit point, merges that delete old files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'index-'));
    try {
      const index = new SearchIndex(dir, 2, 3);
      expect(fs.existsSync(path.join(dir, 'write.lock'))).toBe(true);
      index.add(256, ['a']);
      index.add(257, ['b']);
      const first = fs.readdirSync(dir).sort();
      expect(first.filter((f) => f.startsWith('segments_'))).toEqual(['segments_1']);
      expect(first).toContain('_0.cfs');
      for (let i = 0; i < 6; i++) index.add(300 + i, ['c']);
      const later = fs.readdirSync(dir);
      expect(later.filter((f) => f.startsWith('segments_'))).toHaveLength(1);
      expect(later).not.toContain('_0.cfs');
      index.delete([256, 257]);
      index.close();
      expect(fs.readdirSync(dir).some((f) => f.endsWith('.liv'))).toBe(true);
      expect(fs.existsSync(path.join(dir, 'write.lock'))).toBe(false);
      // A reopened index carries on from its commit point.
      const reopened = new SearchIndex(dir, 1, 100);
      reopened.add(400, ['d']);
      const commits = fs.readdirSync(dir).filter((f) => f.startsWith('segments_'));
      expect(commits).toHaveLength(1);
      expect(parseInt(commits[0]!.slice(9), 36)).toBeGreaterThan(4);
      reopened.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
