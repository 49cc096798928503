/**
 * A cursor over byte ranges of one protobuf body: varints (as two 32-bit halves), tags, length
 * prefixes, fixed-width values, skipping. Used by protobuf.ts.
 */

/** A body that is not valid protobuf for its type (a 400). */
export class Malformed extends Error {}

/** A byte range of the body: one occurrence of a length-delimited field. */
export type Seg = [start: number, end: number];

/** Protobuf wire types. */
export const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5;

/**
 * A cursor over one byte range of the body. Written here rather than taken from protobufjs's
 * Reader (which viaduct uses): the decoder works on ranges of one buffer, so that the occurrences
 * of a message field merge as Go merges them, and needs exact 64-bit values (Duration
 * nanoseconds), which protobufjs's Reader only gives through the optional Long package.
 */
export class Wire {
  pos: number;
  lo = 0;
  hi = 0;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }

  /** Reads a varint into {@link lo}/{@link hi} (unsigned 32-bit halves). */
  varint(): void {
    let lo = 0, hi = 0;
    for (let i = 0;; i++) {
      if (this.pos >= this.end) throw new Malformed("truncated varint");
      if (i === 10) throw new Malformed("varint longer than 10 bytes");
      const b = this.buf[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** Reads a tag: [field number, wire type]. */
  tag(): [number, number] {
    this.varint();
    const num = this.lo >>> 3;
    if (this.hi !== 0 || num === 0) throw new Malformed("invalid field number");
    return [num, this.lo & 7];
  }

  /** Reads a length prefix: the range of the bytes it announces. */
  len(): Seg {
    this.varint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) {
      throw new Malformed("length runs past the end of the message");
    }
    const start = this.pos;
    this.pos += this.lo;
    return [start, this.pos];
  }

  fixed(n: 4 | 8): number {
    if (this.end - this.pos < n) throw new Malformed("truncated fixed-width value");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.fixed(8);
    else if (wire === WIRE_LEN) this.len();
    else if (wire === WIRE_I32) this.fixed(4);
    else throw new Malformed(`wire type ${wire} (groups are not used by Kubernetes)`);
  }

  int64(): number {
    return (this.hi | 0) * 0x1_0000_0000 + this.lo;
  }

  bigint64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }
}
