import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WORKER_NODE_FLAGS } from '../../../src-main/jobs/worker-flags';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe("the jobs' node flags", () => {
  it('are the ones bin/mailvault passes (it is a shell script and keeps its own copy)', () => {
    const script = fs.readFileSync(path.join(root, 'bin/mailvault'), 'utf8');
    expect(/^flags=(.*)$/m.exec(script)?.[1]?.split(' ')).toEqual([...WORKER_NODE_FLAGS]);
  });

  it('are flags this node takes', () => {
    const out = execFileSync(process.execPath, [...WORKER_NODE_FLAGS, '-e', 'console.log("ok")']);
    expect(out.toString()).toBe('ok\n');
  });
});
