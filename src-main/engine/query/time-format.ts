/**
 * Times as zmbackupquery prints them (QueryUtil: `EEE, yyyy/MM/dd HH:mm:ss.SSS z`, local time),
 * and as `-restoreToTime` / `plan --to` take them back (`yyyyMMdd.HHmmss.SSS`, local time), so a
 * suggested instant can be pasted into the next command as it is.
 */
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The zone's short name as Java prints it where Intl knows one (CEST, EDT), else GMT+2. */
function zoneName(d: Date): string {
  let fallback = '';
  for (const locale of ['en-US', 'en-GB']) {
    const name =
      new Intl.DateTimeFormat(locale, { timeZoneName: 'short' })
        .formatToParts(d)
        .find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (name && !/^GMT[+-]/.test(name)) return name;
    fallback ||= name;
  }
  return fallback;
}

export function formatZimbraDate(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getDay()]}, ${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)} ${zoneName(d)}`
  ).trimEnd();
}

/** `yyyyMMdd.HHmmss.SSS` in local time: one of the formats parseZimbraTime reads. */
export function formatRestoreTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}.` +
    `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
