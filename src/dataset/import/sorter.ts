/**
 * External sort of import rows with bounded memory. Rows are packed into large byte arenas with their
 * offsets in typed arrays — no JavaScript object per row, which is what made the garbage collector
 * dominate large imports — then sorted by an index. When a run outgrows its budget it is written,
 * sorted, to a temp file; at the end the runs are merged. The result is a single stream of entries
 * in strictly increasing key order (later rows win over earlier rows with the same key), which the
 * tree builds in one streaming pass (ProllyTree.fromSorted).
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BlobRef, type TreeValue } from '../../blob/blob-ref.js';
import type { Entry } from '../../tree/prolly-tree.js';
import { compareBytes } from '../../util/bytes.js';

const ARENA_BYTES = 16 * 1024 * 1024;
const KIND_INLINE = 0;
const KIND_BLOB = 1;

/** Growable typed column. */
class Column<T extends Float64Array | Uint32Array> {
  data: T;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
}

/** One in-memory run: arenas plus per-row offsets. */
class Run {
  readonly arenas: Buffer[] = [];
  private arena: Buffer = Buffer.allocUnsafe(0);
  private pos = 0;
  size = 0;
  bytes = 0;
  private readonly prefix = new Column((n) => new Float64Array(n));
  /** arena index, key offset, key length, value offset, value length(+kind in the top bit). */
  private readonly loc = new Column((n) => new Uint32Array(n));

  private reserve(n: number): void {
    if (this.pos + n > this.arena.length || this.arenas.length === 0) {
      this.arena = Buffer.allocUnsafe(Math.max(ARENA_BYTES, n));
      this.arenas.push(this.arena);
      this.pos = 0;
    }
  }

  /** Add a row with text key and text value; false when the value is over `maxInline` bytes. */
  addText(key: string, value: string, maxInline: number): boolean {
    this.reserve(key.length * 3 + value.length * 3);
    const keyStart = this.pos;
    const keyLen = this.arena.write(key, keyStart);
    const valueLen = this.arena.write(value, keyStart + keyLen);
    if (valueLen > maxInline) return false;
    this.pos += keyLen + valueLen;
    this.push(keyStart, keyLen, keyStart + keyLen, valueLen, KIND_INLINE);
    return true;
  }

  /** Add a row with byte key and a stored value (inline bytes or a blob reference). */
  addValue(key: Uint8Array, value: TreeValue): void {
    const payload = value instanceof BlobRef ? Buffer.concat([value.address, bigLength(value.length)]) : value;
    this.reserve(key.length + payload.length);
    const keyStart = this.pos;
    this.arena.set(key, keyStart);
    this.arena.set(payload, keyStart + key.length);
    this.pos += key.length + payload.length;
    this.push(keyStart, key.length, keyStart + key.length, payload.length, value instanceof BlobRef ? KIND_BLOB : KIND_INLINE);
  }

  private push(keyStart: number, keyLen: number, valueStart: number, valueLen: number, kind: number): void {
    const i = this.size++;
    const a = this.arena;
    let p = 0;
    for (let j = 0; j < 6; j++) p = p * 256 + (j < keyLen ? a[keyStart + j]! : 0);
    this.prefix.set(i, p);
    const o = i * 5;
    this.loc.set(o, this.arenas.length - 1);
    this.loc.set(o + 1, keyStart);
    this.loc.set(o + 2, keyLen);
    this.loc.set(o + 3, valueStart);
    this.loc.set(o + 4, (valueLen | (kind << 31)) >>> 0);
    this.bytes += keyLen + valueLen + 48;
  }

  key(i: number): Buffer {
    const l = this.loc.data;
    const o = i * 5;
    return this.arenas[l[o]!]!.subarray(l[o + 1]!, l[o + 1]! + l[o + 2]!);
  }

  value(i: number): TreeValue {
    const l = this.loc.data;
    const o = i * 5;
    const raw = l[o + 4]!;
    const len = raw & 0x7fffffff;
    const bytes = this.arenas[l[o]!]!.subarray(l[o + 3]!, l[o + 3]! + len);
    return raw >>> 31 === KIND_BLOB ? decodeBlob(bytes) : bytes;
  }

  /** Row indexes in key order, keeping only the last row of each key. */
  sortedUnique(): Uint32Array {
    const prefix = this.prefix.data;
    const order = Array.from({ length: this.size }, (_, i) => i);
    // Stable sort: equal keys keep insertion order, so the last of a run of equal keys is the newest.
    order.sort((a, b) => prefix[a]! - prefix[b]! || compareBytes(this.key(a), this.key(b)));
    const out: number[] = [];
    for (let i = 0; i < order.length; i++) {
      if (i + 1 < order.length && prefix[order[i]!] === prefix[order[i + 1]!] && compareBytes(this.key(order[i]!), this.key(order[i + 1]!)) === 0) continue;
      out.push(order[i]!);
    }
    return Uint32Array.from(out);
  }
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function decodeBlob(bytes: Uint8Array): BlobRef {
  return new BlobRef(Uint8Array.from(bytes.subarray(0, 32)), Number(Buffer.from(bytes.buffer, bytes.byteOffset + 32, 8).readBigUInt64BE()));
}

/** Sequential reader of a spilled run file: [u32 keyLen][key][u32 kind|valueLen][value]… */
class RunReader {
  private buf = Buffer.allocUnsafe(1 << 20);
  private start = 0;
  private end = 0;
  private filePos = 0;
  private eof = false;
  key: Buffer | undefined;
  value: TreeValue | undefined;

  constructor(
    readonly fd: number,
    readonly order: number,
  ) {}

  private fill(need: number): boolean {
    if (this.end - this.start >= need) return true;
    if (this.eof) return false;
    // Entries already handed out may still be referenced: copy the tail into a fresh buffer.
    const size = Math.max(this.buf.length, need * 2);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    this.buf = next;
    while (this.end < need && !this.eof) {
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.filePos);
      if (n === 0) this.eof = true;
      this.filePos += n;
      this.end += n;
    }
    return this.end - this.start >= need;
  }

  /** Advance to the next record; false at the end. */
  next(): boolean {
    if (!this.fill(4)) return false;
    const keyLen = this.buf.readUInt32BE(this.start);
    if (!this.fill(4 + keyLen + 4)) throw new Error('truncated import run file');
    const kv = this.buf.readUInt32BE(this.start + 4 + keyLen);
    const valueLen = kv & 0x7fffffff;
    if (!this.fill(8 + keyLen + valueLen)) throw new Error('truncated import run file');
    const s = this.start;
    this.key = this.buf.subarray(s + 4, s + 4 + keyLen);
    const v = this.buf.subarray(s + 8 + keyLen, s + 8 + keyLen + valueLen);
    this.value = kv >>> 31 === KIND_BLOB ? decodeBlob(v) : v;
    this.start = s + 8 + keyLen + valueLen;
    return true;
  }
}

/**
 * Collects rows and yields them as sorted, de-duplicated entries.
 * @example
 * const sorter = new ImportSorter({ tempDir: join(gitDir, 'prolly', 'tmp') });
 * sorter.addText('k', '{"a":1}');
 * const tree = await ProllyTree.fromSorted(nodes, sorter.entries());
 * sorter.dispose();
 */
export class ImportSorter {
  private run = new Run();
  private readonly runFiles: string[] = [];
  private readonly runBytes: number;
  private readonly tempDir: string;
  private readonly maxInline: number;
  private dirMade = false;
  /** Rows added so far. */
  rows = 0;

  constructor(options: { tempDir: string; runBytes?: number; maxInline: number }) {
    this.tempDir = options.tempDir;
    this.runBytes = options.runBytes ?? 256 * 1024 * 1024;
    this.maxInline = options.maxInline;
  }

  /** True while every row is still in memory (nothing spilled to disk). */
  get inMemory(): boolean {
    return this.runFiles.length === 0;
  }

  /** Add a text row stored inline; false (nothing added) when the value is too long to be inline. */
  addText(key: string, value: string): boolean {
    if (!this.run.addText(key, value, this.maxInline)) return false;
    this.rows++;
    this.maybeSpill();
    return true;
  }

  /** Add a row with a stored value (e.g. a blob reference). */
  addValue(key: Uint8Array, value: TreeValue): void {
    this.run.addValue(key, value);
    this.rows++;
    this.maybeSpill();
  }

  private maybeSpill(): void {
    if (this.run.bytes >= this.runBytes) this.spill();
  }

  private spill(): void {
    if (!this.dirMade) {
      mkdirSync(this.tempDir, { recursive: true });
      this.dirMade = true;
    }
    const file = join(this.tempDir, `run-${this.runFiles.length}`);
    const fd = openSync(file, 'w');
    try {
      const out = Buffer.allocUnsafe(1 << 20);
      let pos = 0;
      const flush = () => {
        let done = 0;
        while (done < pos) done += writeSync(fd, out, done, pos - done);
        pos = 0;
      };
      const run = this.run;
      for (const i of run.sortedUnique()) {
        const key = run.key(i);
        const v = run.value(i);
        const payload = v instanceof BlobRef ? Buffer.concat([v.address, bigLength(v.length)]) : v;
        const need = 8 + key.length + payload.length;
        if (pos + need > out.length) flush();
        if (need > out.length) throw new Error('import row larger than the run buffer');
        out.writeUInt32BE(key.length, pos);
        out.set(key, pos + 4);
        out.writeUInt32BE((payload.length | ((v instanceof BlobRef ? KIND_BLOB : KIND_INLINE) << 31)) >>> 0, pos + 4 + key.length);
        out.set(payload, pos + 8 + key.length);
        pos += need;
      }
      flush();
    } finally {
      closeSync(fd);
    }
    this.runFiles.push(file);
    this.run = new Run();
  }

  /** Every row in strictly increasing key order; of rows with equal keys, the last added. */
  *entries(): Generator<Entry> {
    if (this.runFiles.length === 0) {
      const run = this.run;
      for (const i of run.sortedUnique()) yield [run.key(i), run.value(i)];
      return;
    }
    if (this.run.size > 0) this.spill();
    const readers: RunReader[] = this.runFiles.map((f, i) => new RunReader(openSync(f, 'r'), i));
    try {
      // A binary heap of readers by (key, newest run first).
      const heap: RunReader[] = [];
      const less = (a: RunReader, b: RunReader) => {
        const c = compareBytes(a.key!, b.key!);
        return c < 0 || (c === 0 && a.order > b.order);
      };
      const push = (r: RunReader) => {
        heap.push(r);
        let i = heap.length - 1;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!less(heap[i]!, heap[p]!)) break;
          [heap[i], heap[p]] = [heap[p]!, heap[i]!];
          i = p;
        }
      };
      const pop = (): RunReader => {
        const top = heap[0]!;
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          let i = 0;
          for (;;) {
            const l = 2 * i + 1;
            const r = l + 1;
            let m = i;
            if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
            if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
            if (m === i) break;
            [heap[i], heap[m]] = [heap[m]!, heap[i]!];
            i = m;
          }
        }
        return top;
      };
      for (const r of readers) if (r.next()) push(r);
      let prev: Uint8Array | undefined;
      while (heap.length > 0) {
        const r = pop();
        const key = r.key!;
        // The newest run's row for a key comes first; older duplicates are skipped.
        if (!prev || compareBytes(prev, key) !== 0) {
          yield [key, r.value!];
          prev = key;
        }
        if (r.next()) push(r);
      }
    } finally {
      for (const r of readers) closeSync(r.fd);
    }
  }

  /** Remove temp files. */
  dispose(): void {
    if (this.dirMade) rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/**
 * Merge two sorted entry streams; on equal keys `newer` wins.
 * @example ProllyTree.fromSorted(nodes, mergeSorted(existing.range(), sorter.entries()))
 */
export async function* mergeSorted(older: AsyncIterable<Entry>, newer: Iterable<Entry>): AsyncGenerator<Entry> {
  const a = older[Symbol.asyncIterator]();
  const b = newer[Symbol.iterator]();
  let x = await a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done) {
      yield x.value!;
      x = await a.next();
      continue;
    }
    if (x.done) {
      yield y.value;
      y = b.next();
      continue;
    }
    const c = compareBytes(x.value[0], y.value[0]);
    if (c < 0) {
      yield x.value;
      x = await a.next();
    } else {
      yield y.value;
      if (c === 0) x = await a.next();
      y = b.next();
    }
  }
}
