import crypto from 'node:crypto';

/** A value as it enters a digest: stable text whatever driver type it came as. */
export function canonicalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'invalid-date' : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}

export const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
