/**
 * How fast Mailvault writes a stored zip (ZipWriter: archiver + SHA-256 of the archive as it is
 * written), against Info-ZIP `zip -0 -r -q` on the same files in the same run.
 *
 *   node --import tsx bench/zip-write.ts [--files 20000] [--size 20480] [--window 128] [--rounds 3] [--keep]
 *   node --import tsx bench/zip-write.ts --big      # opt-in: archives past 4 GiB must pass unzip -t
 *
 * Both read the same files from the page cache (they are read once before either runs). Each side
 * runs in its own process, so peak RSS is its own; rounds alternate the two sides and the medians
 * are reported (a shared machine is noisy). Every archive is checked with `unzip -tq`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { addFiles } from '../src-main/engine/target/archive';
import { ZipReader } from '../src-main/engine/target/zip-reader';
import { ZipWriter } from '../src-main/engine/target/zip-writer';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};

interface Run {
  ms: number;
  maxRssKiB: number | null;
}

/** Child mode: zip every file under `source` with ZipWriter, report time and peak RSS as JSON. */
async function runOursHere(source: string, zip: string, window: number): Promise<void> {
  const started = performance.now();
  const files: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name), `${prefix}${entry.name}/`);
      else files.push(`${prefix}${entry.name}`);
    }
  };
  walk(source, '');
  const writer = await ZipWriter.create(zip);
  await addFiles(
    writer,
    files.map((name) => ({ name, path: path.join(source, name) })),
    window,
  );
  const result = await writer.finish();
  const ms = performance.now() - started;
  process.stdout.write(
    JSON.stringify({
      ms,
      maxRssKiB: process.resourceUsage().maxRSS,
      entries: result.entries,
      bytes: result.bytes,
    }),
  );
}

function runChild(
  command: string,
  argv: string[],
  cwd?: string,
): Promise<{ ms: number; stdout: string; maxRssKiB: number | null }> {
  // GNU time reports the child's peak RSS; without it the figure is left out.
  const timed = fs.existsSync('/usr/bin/time');
  const rssFile = path.join(os.tmpdir(), `mv-bench-rss-${process.pid}-${Math.random()}`);
  const [cmd, fullArgs] = timed
    ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...argv]]
    : [command, argv];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, fullArgs, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${command} exited with ${code}`));
      let maxRssKiB: number | null = null;
      if (timed) {
        maxRssKiB = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        fs.rmSync(rssFile, { force: true });
      }
      resolve({ ms, stdout, maxRssKiB });
    });
  });
}

function unzipTest(zip: string): void {
  const run = spawnSync('unzip', ['-tq', zip], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0)
    throw new Error(`unzip -t failed for ${zip}:\n${(run.stdout + run.stderr).slice(-2000)}`);
}

const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(0)} MiB`;

async function compareWithZip(): Promise<void> {
  const count = option('files', 20_000);
  const size = option('size', 20 * 1024);
  const window = option('window', 128);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-zip-'));
  const source = path.join(work, 'store');
  try {
    console.log(`Writing ${count} files of ${size} bytes (${mib(count * size)}) under ${source} …`);
    const noise = crypto.randomBytes(size);
    for (let i = 0; i < count; i++) {
      // Laid out like a Zimbra blob store: <item >> 8>/<item>-<revision>.msg
      const dir = path.join(source, String(i >> 8));
      if (i % 256 === 0) fs.mkdirSync(dir, { recursive: true });
      noise.writeUInt32LE(i, 0);
      fs.writeFileSync(path.join(dir, `${i}-1.msg`), noise);
    }
    // Warm the page cache so that neither side pays for the first read.
    execFileSync('tar', ['-cf', '/dev/null', '.'], { cwd: source });

    const rounds = option('rounds', 3);
    const self = fileURLToPath(import.meta.url);
    const oursRuns: (Run & { entries: number; bytes: number })[] = [];
    const zipRuns: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const oursZip = path.join(work, `ours-${round}.zip`);
      const ours = await runChild(process.execPath, [
        '--import',
        'tsx',
        self,
        '--child-ours',
        source,
        oursZip,
        String(window),
      ]);
      // Time measured inside the child, without Node's start-up; RSS from GNU time when present.
      const run = JSON.parse(ours.stdout) as Run & { entries: number; bytes: number };
      oursRuns.push({ ...run, maxRssKiB: ours.maxRssKiB ?? run.maxRssKiB });
      const zipZip = path.join(work, `zip-${round}.zip`);
      zipRuns.push(await runChild('zip', ['-0', '-r', '-q', zipZip, '.'], source));
      unzipTest(oursZip);
      unzipTest(zipZip);
      fs.rmSync(oursZip);
      fs.rmSync(zipZip);
    }
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const oursMs = median(oursRuns.map((r) => r.ms));
    const zipMs = median(zipRuns.map((r) => r.ms));
    const peak = (runs: Run[]): string => {
      const kib = runs.map((r) => r.maxRssKiB).filter((k): k is number => k !== null);
      return kib.length ? `${(Math.max(...kib) / 1024).toFixed(0)} MiB` : 'n/a';
    };
    const rate = (ms: number): string => `${((count * size) / (1 << 20) / (ms / 1000)).toFixed(0)} MiB/s`;
    const all = (runs: Run[]): string => runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ');
    console.log(
      `files: ${count} × ${size} B = ${mib(count * size)}; archive ${mib(oursRuns[0]!.bytes)}, ${oursRuns[0]!.entries} entries; ${rounds} rounds, medians`,
    );
    console.log(
      `Mailvault ZipWriter (store, window ${window}): ${(oursMs / 1000).toFixed(2)} s, ${rate(oursMs)}, peak RSS ${peak(oursRuns)} (runs: ${all(oursRuns)} s)`,
    );
    console.log(
      `zip -0 -r -q:                      ${(zipMs / 1000).toFixed(2)} s, ${rate(zipMs)}, peak RSS ${peak(zipRuns)} (runs: ${all(zipRuns)} s)`,
    );
    console.log(`ratio Mailvault / zip: ${(oursMs / zipMs).toFixed(2)}× (every archive passed unzip -t)`);
    if (args.includes('--keep')) console.log(`kept ${work}`);
  } finally {
    if (!args.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Opt-in: a zip past 4 GiB (offsets need ZIP64), with one entry past 4 GiB, streamed. */
async function bigArchive(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-bench-zip64-'));
  const zip = path.join(work, 'big.zip');
  const chunk = crypto.randomBytes(1 << 20);
  const stream = (mibs: number): Readable =>
    Readable.from(
      (function* () {
        for (let i = 0; i < mibs; i++) yield chunk;
      })(),
    );
  try {
    const started = performance.now();
    const writer = await ZipWriter.create(zip);
    await writer.addBuffer('first.txt', 'small entry at offset 0\n');
    await writer.addStream('a.bin', stream(1536));
    await writer.addStream('b.bin', stream(1536));
    await writer.addStream('huge.bin', stream(4608)); // 4.5 GiB: sizes need ZIP64 too
    await writer.addBuffer('last.txt', 'small entry past 4 GiB\n');
    const result = await writer.finish();
    console.log(`wrote ${mib(result.bytes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let t = performance.now();
    unzipTest(zip);
    console.log(`unzip -t: OK in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const reader = await ZipReader.open(zip);
    const tested = await reader.test();
    reader.close();
    console.log(
      `ZipReader.test(): ${tested.entries} entries, ${mib(tested.bytes)} OK in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const childAt = args.indexOf('--child-ours');
if (childAt >= 0)
  await runOursHere(args[childAt + 1] as string, args[childAt + 2] as string, Number(args[childAt + 3]));
else if (args.includes('--big')) await bigArchive();
else await compareWithZip();
