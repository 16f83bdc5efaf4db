/** Archived redo logs: redo-<yyyyMMdd.HHmmss.SSS, GMT, the rollover time>-seq<N>.log. */
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function archiveFileName(rolloverTime: number, seq: number): string {
  const d = new Date(rolloverTime);
  const stamp =
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  return `redo-${stamp}-seq${seq}.log`;
}

export function parseArchiveFileName(name: string): { rolloverTime: number; seq: number } | null {
  const m = /^redo-(\d{4})(\d{2})(\d{2})\.(\d{2})(\d{2})(\d{2})\.(\d{3})-seq(\d+)\.log$/.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms, seq] = m.map(Number) as number[];
  return { rolloverTime: Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!), seq: seq! };
}
