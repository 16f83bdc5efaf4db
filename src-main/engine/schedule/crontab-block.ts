/**
 * The engine's lines in a crontab: one marked block per scheduled server, between a BEGIN and an
 * END comment naming it. Everything outside the block stays byte for byte as it was; a block
 * whose markers are broken (an END missing, a second BEGIN) is not guessed at but refused.
 */
export class CrontabBlockError extends Error {}

const BEGIN = '# BEGIN mailvault zmschedulebackup for ';
const END = '# END mailvault zmschedulebackup for ';
const NOTE = '# (managed by mailvault zmschedulebackup: change it with that command, not by hand)';

function markerLines(text: string, key: string): { begins: number[]; ends: number[]; lines: string[] } {
  const lines = text.split('\n');
  const begins: number[] = [];
  const ends: number[] = [];
  lines.forEach((line, i) => {
    if (line.trimEnd() === `${BEGIN}${key}`) begins.push(i);
    if (line.trimEnd() === `${END}${key}`) ends.push(i);
  });
  return { begins, ends, lines };
}

function locate(text: string, key: string): { start: number; end: number; lines: string[] } | null {
  const { begins, ends, lines } = markerLines(text, key);
  if (begins.length === 0 && ends.length === 0) return null;
  if (begins.length !== 1 || ends.length !== 1 || ends[0]! < begins[0]!)
    throw new CrontabBlockError(
      `the crontab's mailvault block for ${key} is damaged (${begins.length} BEGIN and ${ends.length} END lines); fix it with crontab -e`,
    );
  return { start: begins[0]!, end: ends[0]!, lines };
}

/** The schedule lines inside the block for `key` (comments and blank lines left out); null if there is no block. */
export function readBlock(text: string, key: string): string[] | null {
  const found = locate(text, key);
  if (!found) return null;
  return found.lines
    .slice(found.start + 1, found.end)
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** The crontab with the block for `key` set to `lines` (or removed, for null), nothing else changed. */
export function writeBlock(text: string, key: string, lines: string[] | null): string {
  if (key.includes('\n')) throw new CrontabBlockError('a schedule key cannot hold a line break');
  const found = locate(text, key);
  const block = lines === null ? [] : [`${BEGIN}${key}`, NOTE, ...lines, `${END}${key}`];
  if (found) {
    const out = [...found.lines.slice(0, found.start), ...block, ...found.lines.slice(found.end + 1)];
    return out.join('\n');
  }
  if (lines === null) return text;
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${base}${block.join('\n')}\n`;
}

/** The keys of every mailvault block in a crontab (a workstation's may hold several servers). */
export function blockKeys(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(BEGIN))
    .map((line) => line.slice(BEGIN.length).trimEnd());
}
