/**
 * A growable byte buffer for encoders that build small records (SQL keys and rows): append bytes,
 * take a right-sized copy at the end.
 *
 * @example
 * const w = new ByteWriter(); w.byte(1); w.bytes(utf8('k')); w.result() // Uint8Array [1, 107]
 */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }

  /** Make room for `n` more bytes (doubling). */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A copy of the bytes written. */
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
