/**
 * How fast Mailvault reads a Zimbra redo log (readRedoLog, every op decoded), against `cat` of the
 * same file in the same run: both read from the page cache (the file is read once first).
 *
 *   node --import tsx bench/redolog-read.ts [--messages 20000] [--size 20480] [--rounds 3]
 *
 * The log is a mailboxd-like mix: per delivery a CreateMessage with the body inline and its
 * CommitTxn, and every fourth delivery an AlterItemTag + MoveItem with their commits.
 * Reported: medians over rounds, throughput, ratio to cat, and this process's peak RSS.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CURRENT_REDO_VERSION,
  OP_CODES,
  readRedoLog,
  RedoLogFileWriter,
  type RedoOp,
} from '../src-main/engine/redolog';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const messages = option('messages', 20_000);
const size = option('size', 20 * 1024);
const rounds = option('rounds', 3);

const header = (name: string, counter: number, mailboxId: number) => ({
  version: CURRENT_REDO_VERSION,
  opCode: OP_CODES[name]!,
  timestamp: 1_763_890_000_000 + counter,
  changeId: counter,
  changeConstraint: 0,
  txnId: { time: 1_763_880_000, counter },
  mailboxId,
});

async function writeLog(file: string): Promise<number> {
  const writer = await RedoLogFileWriter.create(file, { seq: 1, serverId: 'bench' });
  let ops = 0;
  const body = Buffer.alloc(size, 'x');
  for (let i = 1; i <= messages; i++) {
    const mailboxId = (i % 100) + 1;
    const create: RedoOp = {
      op: 'CreateMessage',
      header: header('CreateMessage', i, mailboxId),
      rcptEmail: `user${mailboxId}@example.com`,
      receivedDate: 1_763_890_000_000 + i,
      shared: false,
      digest: 'Zq6c,3p0bB3ZJ2YVbXo4lQbq2K8UJ9u2zO3M4kq1Hk0=',
      size,
      msgId: 256 + i,
      folderId: 2,
      convId: -(256 + i),
      convFirstMsgId: 0,
      mergedConvIds: [],
      calendarItemId: 0,
      calItemPartStat: 'NE',
      flags: 512,
      noICal: false,
      tags: [],
      path: ':streamed:',
      extended: null,
      body: { kind: 'inline', length: size, data: body },
    };
    writer.append(create);
    writer.append({
      op: 'CommitTxn',
      header: header('CommitTxn', i, mailboxId),
      txnOpCode: OP_CODES.CreateMessage!,
    });
    ops += 2;
    if (i % 4 === 0) {
      const ids = [256 + i];
      writer.append({
        op: 'AlterItemTag',
        header: header('AlterItemTag', i, mailboxId),
        ids,
        itemType: 5,
        tag: '\\Unread',
        tagged: false,
        constraint: null,
      });
      writer.append({
        op: 'MoveItem',
        header: header('MoveItem', i, mailboxId),
        ids,
        itemType: 5,
        targetFolderId: 3,
        constraint: null,
        uidNext: -1,
      });
      writer.append({
        op: 'CommitTxn',
        header: header('CommitTxn', i, mailboxId),
        txnOpCode: OP_CODES.MoveItem!,
      });
      ops += 3;
    }
    if (i % 1000 === 0) await writer.flush();
  }
  await writer.close();
  return ops;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-redo-'));
  try {
    const file = path.join(dir, 'redo.log');
    const written = await writeLog(file);
    const bytes = fs.statSync(file).size;
    spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] });
    const cat: number[] = [];
    const ours: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      spawnSync('sh', ['-c', `cat '${file}' > /dev/null`]);
      cat.push(performance.now() - t);
      t = performance.now();
      let read = 0;
      for await (const event of readRedoLog(file)) if (event.kind === 'op') read++;
      ours.push(performance.now() - t);
      if (read !== written) throw new Error(`read ${read} ops, wrote ${written}`);
    }
    const mib = bytes / 1024 / 1024;
    const o = median(ours);
    const c = median(cat);
    console.log(`redo log: ${written} ops, ${mib.toFixed(0)} MiB (${messages} messages of ${size} B)`);
    console.log(
      `readRedoLog: ${o.toFixed(0)} ms, ${(mib / (o / 1000)).toFixed(0)} MiB/s, ${((written / o) * 1000).toFixed(0)} ops/s`,
    );
    console.log(`cat:         ${c.toFixed(0)} ms, ${(mib / (c / 1000)).toFixed(0)} MiB/s`);
    console.log(
      `ratio readRedoLog / cat: ${(o / c).toFixed(2)}×; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
