import { RedoFormatError } from './file-header';

/**
 * Java DataOutput/DataInput as Zimbra's RedoLogOutput/RedoLogInput use them: big-endian integers,
 * booleans as one byte, and strings as ByteUtil.writeUTF8 writes them (int32 byte length, -1 for
 * null, then UTF-8), which is not Java's modified-UTF-8 writeUTF.
 */

/** Longest string or list a record may hold; anything longer is damage, not data. */
const MAX_STRING_BYTES = 16 * 1024 * 1024;
const MAX_LIST_LENGTH = 1_000_000;

/** The record ran past the bytes available: at the end of a file this is a torn tail. */
export class RedoTruncatedError extends RedoFormatError {}

export class RedoDataWriter {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  bytes(b: Buffer): this {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }
  byte(v: number): this {
    this.room(1);
    this.buf.writeInt8(v, this.pos++);
    return this;
  }
  bool(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }
  short(v: number): this {
    this.room(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  long(v: number | bigint): this {
    this.room(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  utf(v: string | null): this {
    if (v === null) return this.int(-1);
    const b = Buffer.from(v, 'utf8');
    return this.int(b.length).bytes(b);
  }
  utfArray(v: readonly string[] | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    for (const s of v) this.utf(s);
    return this;
  }
  intList(v: readonly number[]): this {
    this.int(v.length);
    for (const n of v) this.int(n);
    return this;
  }

  get length(): number {
    return this.pos;
  }
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class RedoDataReader {
  constructor(
    private readonly buf: Buffer,
    public pos = 0,
    private readonly end = buf.length,
  ) {}

  private need(n: number): number {
    if (this.pos + n > this.end) throw new RedoTruncatedError(`record truncated: needs ${n} more bytes`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  get remaining(): number {
    return this.end - this.pos;
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  byte(): number {
    return this.buf.readInt8(this.need(1));
  }
  bool(): boolean {
    return this.byte() !== 0;
  }
  short(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  int(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  /** A Java long as a number: every long Zimbra logs (times, sizes, colours) fits in 53 bits. */
  long(): number {
    return Number(this.buf.readBigInt64BE(this.need(8)));
  }
  bigLong(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }
  utf(): string | null {
    const length = this.int();
    if (length === -1) return null;
    if (length < -1 || length > MAX_STRING_BYTES) throw new RedoFormatError(`bad string length ${length}`);
    const at = this.need(length);
    return this.buf.toString('utf8', at, at + length);
  }
  /** A string Zimbra never writes as null (it writes "" instead); null here would be damage. */
  text(): string {
    return this.utf() ?? '';
  }
  utfArray(): string[] | null {
    const count = this.int();
    if (count === -1) return null;
    if (count < -1 || count > MAX_LIST_LENGTH) throw new RedoFormatError(`bad string list length ${count}`);
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.text());
    return out;
  }
  intList(): number[] {
    const count = this.int();
    if (count < 0 || count > MAX_LIST_LENGTH) throw new RedoFormatError(`bad list length ${count}`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.int());
    return out;
  }
}
