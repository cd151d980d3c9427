/**
 * Reading and writing the rows of one table's prolly tree. Rows come out as plain objects in the form
 * the query engine uses (see src/sql/values.ts): NULL is `undefined`, dates and datetimes are canonical
 * text, JSON is parsed. Scans walk leaf nodes directly and decode rows with a per-schema decoder, since
 * a full-table aggregate decodes every row.
 */
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { readValue, toTreeValue } from '../dataset/values.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { VALUE_INLINE, type Node } from '../tree/node.js';
import type { NodeStore } from '../tree/node-store.js';
import { ProllyTree } from '../tree/prolly-tree.js';
import { toHex } from '../util/bytes.js';
import { decodeKey, isEmptyRange, type KeyRange } from './key-codec.js';
import { encodeRow, RowTag } from './row-codec.js';
import { copyValue, keyColumns, ROWID_COLUMN, type ColumnSchema, type KeyColumns, type TableSchema } from './schema.js';
import { daysToDate, msToDatetime } from './temporal.js';
import type { TableState } from './table-store.js';
import { toEngineValue, type EngineRow } from './values.js';

/**
 * A table opened for reading: its state, tree and key columns.
 * @example const t = await TableHandle.open(nodes, 'orders', state); await t.scanRows(null, (row) => rows.push(row));
 */
export class TableHandle {
  readonly name: string;
  readonly state: TableState;
  readonly tree: ProllyTree;
  readonly keys: KeyColumns;
  readonly decode: (key: Uint8Array, value: Uint8Array) => EngineRow;
  readonly decodeAt: RowDecoderAt;
  /** Rows decoded so far through this handle (for plans and tests). */
  rowsRead = 0;

  private constructor(name: string, state: TableState, tree: ProllyTree) {
    this.name = name;
    this.state = state;
    this.tree = tree;
    this.keys = keyColumns(state.schema);
    this.decodeAt = rowDecoderAt(state.schema);
    this.decode = (key, value) => this.decodeAt(key, 0, key.length, value, 0, value.length);
  }

  /**
   * Open a table's tree.
   * @example const t = await TableHandle.open(nodes, 'orders', state)
   */
  static async open(nodes: NodeStore, name: string, state: TableState): Promise<TableHandle> {
    return new TableHandle(name, state, await ProllyTree.open(nodes, state.root));
  }

  get schema(): TableSchema {
    return this.state.schema;
  }

  get nodes(): NodeStore {
    return this.tree.nodes;
  }

  get chunks(): ChunkStore {
    return this.tree.nodes.chunks;
  }

  /** Decode one entry (reading a blob when the row is stored as one). */
  async decodeEntry(key: Uint8Array, value: TreeValue): Promise<EngineRow> {
    this.rowsRead++;
    return this.decode(key, value instanceof BlobRef ? await readValue(this.chunks, value) : value);
  }

  /** Rows with these keys, in the order asked (missing keys are skipped). */
  async getMany(keys: readonly Uint8Array[]): Promise<{ key: Uint8Array; row: EngineRow }[]> {
    if (keys.length === 0) return [];
    const values = await this.tree.getMany(keys);
    const out: { key: Uint8Array; row: EngineRow }[] = [];
    for (let i = 0; i < keys.length; i++) {
      const v = values[i];
      if (v !== undefined) out.push({ key: keys[i]!, row: await this.decodeEntry(keys[i]!, v) });
    }
    return out;
  }

  /**
   * Rows whose keys lie in the ranges (which must be sorted and disjoint), in key order.
   * @example await t.scan([{ start, end: null }], (key, row) => rows.push(row))
   */
  async scan(ranges: readonly KeyRange[] | null, visit: (key: Uint8Array, row: EngineRow) => void | boolean): Promise<void> {
    const list = ranges ?? [{ start: new Uint8Array(0), end: null }];
    const blobs: { key: Uint8Array; ref: BlobRef }[] = [];
    let stopped = false;
    for (const range of list) {
      if (stopped) break;
      if (isEmptyRange(range)) continue;
      await scanLeaves(this.tree, range, (node, lo, hi) => {
        for (let i = lo; i < hi; i++) {
          const v = node.value(i);
          const key = node.key(i);
          if (v instanceof BlobRef) {
            blobs.push({ key: Uint8Array.from(key), ref: v });
            continue;
          }
          this.rowsRead++;
          if (visit(key, this.decode(key, v)) === false) {
            stopped = true;
            return false;
          }
        }
        return true;
      });
    }
    // Rows stored as blobs (over 1 KiB) are rare; read them after the walk, then restore key order.
    if (blobs.length > 0 && !stopped) {
      for (const b of blobs) visit(b.key, await this.decodeEntry(b.key, b.ref));
    }
  }

  /**
   * Rows in the ranges (null: all), decoded straight from the leaf nodes' bytes — the full-scan path.
   * @example await t.scanRows(null, (row) => rows.push(row))
   */
  async scanRows(ranges: readonly KeyRange[] | null, visit: (row: EngineRow) => void): Promise<void> {
    const list = ranges ?? [{ start: new Uint8Array(0), end: null }];
    const blobs: { key: Uint8Array; ref: BlobRef }[] = [];
    const decodeAt = this.decodeAt;
    let read = 0;
    for (const range of list) {
      if (isEmptyRange(range)) continue;
      await scanLeaves(this.tree, range, (node, lo, hi) => {
        const buf = node.bytes;
        for (let i = lo; i < hi; i++) {
          const ke = node.keyEndOf(i);
          if (buf[ke] !== VALUE_INLINE) {
            blobs.push({ key: Uint8Array.from(node.key(i)), ref: node.value(i) as BlobRef });
            continue;
          }
          // Inline value: tag, varint length, bytes (docs/FORMAT.md, "Leaf entries").
          let p = ke + 1;
          while (buf[p]! & 0x80) p++;
          visit(decodeAt(buf, node.keyStartOf(i), ke, buf, p + 1, node.entryEndOf(i)));
          read++;
        }
        return true;
      });
    }
    this.rowsRead += read;
    for (const b of blobs) visit(await this.decodeEntry(b.key, b.ref));
  }

  /** The largest key in the table, or undefined when it is empty. */
  async lastKey(): Promise<Uint8Array | undefined> {
    for await (const [key] of this.tree.range({ reverse: true, limit: 1 })) return key;
    return undefined;
  }
}

/**
 * Call `visit(leaf, lo, hi)` for the entries [lo, hi) of each leaf that hold keys in `range`, in key
 * order; children are fetched a batch at a time (one store round trip per batch). `visit` returns false
 * to stop.
 * @example await scanLeaves(tree, { start, end }, (leaf, lo, hi) => { count += hi - lo; return true; })
 */
export async function scanLeaves(tree: ProllyTree, range: KeyRange, visit: (leaf: Node, lo: number, hi: number) => boolean): Promise<void> {
  const nodes = tree.nodes;
  const start = range.start.length > 0 ? range.start : undefined;
  const end = range.end ?? undefined;
  const walk = async (node: Node): Promise<boolean> => {
    if (node.size === 0) return true;
    const lo = start ? node.lowerBound(start) : 0;
    if (node.level === 0) {
      const hi = end ? node.lowerBound(end) : node.size;
      return lo < hi ? visit(node, lo, hi) : true;
    }
    if (lo >= node.size) return true;
    // Internal keys are the last key of each child: the child holding `end` may still hold smaller keys.
    const last = end ? Math.min(node.size - 1, node.lowerBound(end)) : node.size - 1;
    const BATCH = 32;
    for (let i = lo; i <= last; i += BATCH) {
      const j = Math.min(last + 1, i + BATCH);
      const children: (Node | undefined)[] = [];
      const missing: number[] = [];
      for (let k = i; k < j; k++) {
        const hit = nodes.peek(node.childHex(k));
        children.push(hit);
        if (!hit) missing.push(k);
      }
      if (missing.length > 0) {
        const got = await nodes.getMany(missing.map((k) => node.childAddress(k)));
        missing.forEach((k, m) => (children[k - i] = got[m]));
      }
      for (const child of children) if (!(await walk(child!))) return false;
    }
    return true;
  };
  await walk(tree.rootNode);
}

/**
 * Number of keys before `key` (its rank), from the subtree counts: an estimate-free row count for a
 * range, read from about one node per level.
 * @example (await rank(tree, end)) - (await rank(tree, start)) // rows in [start, end)
 */
export async function rank(tree: ProllyTree, key: Uint8Array | null): Promise<number> {
  if (key === null) return tree.count;
  let node = tree.rootNode;
  let before = 0;
  while (node.level > 0) {
    const i = node.lowerBound(key);
    if (i >= node.size) return tree.count;
    for (let k = 0; k < i; k++) before += node.childCount(k);
    node = node.level > 0 ? await tree.nodes.get(node.childAddress(i), node.childHex(i)) : node;
  }
  return before + node.lowerBound(key);
}

/**
 * Rows in a key range, from the subtree counts.
 * @example await countRange(tree, { start, end: null })
 */
export async function countRange(tree: ProllyTree, range: KeyRange): Promise<number> {
  if (isEmptyRange(range)) return 0;
  const a = range.start.length === 0 ? 0 : await rank(tree, range.start);
  return (await rank(tree, range.end)) - a;
}

const F64 = new DataView(new ArrayBuffer(8));
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function badRow(table: string, key: Uint8Array, why: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `table ${JSON.stringify(table)}, row with key ${toHex(key).slice(0, 64)}: ${why}`, { table, key: toHex(key) });
}

/** UTF-8 text of buf[start, end) (Buffer's decoder when it is one: faster for short strings). */
function text(buf: Uint8Array, start: number, end: number): string {
  return Buffer.isBuffer(buf) ? buf.toString('utf8', start, end) : fatalUtf8.decode(buf.subarray(start, end));
}

/** Day numbers → canonical date text, memoized: a date column repeats few distinct days. */
const dateText = new Map<number, string>();
function cachedDate(days: number): string {
  let s = dateText.get(days);
  if (s === undefined) {
    if (dateText.size > 100_000) dateText.clear();
    s = daysToDate(days);
    dateText.set(days, s);
  }
  return s;
}

/**
 * Decodes one key column at buf[pos] for the common cases without allocating (integers up to 2^48,
 * unescaped text); returns the position after it, or -1 for anything else (the caller then decodes the
 * whole key with decodeKey, which handles every case and validates strictly).
 */
function fastKeyValue(buf: Uint8Array, pos: number, end: number, type: string, out: unknown[], k: number): number {
  const tag = buf[pos]!;
  if (type === 'integer' || type === 'date' || type === 'datetime') {
    if (tag < 0x0c || tag > 0x1c) return -1;
    const n = tag >= 0x14 ? tag - 0x14 : 0x14 - tag;
    if (n > 6 || pos + 1 + n > end) return -1;
    let m = 0;
    for (let i = 1; i <= n; i++) m = m * 256 + (tag >= 0x14 ? buf[pos + i]! : 255 - buf[pos + i]!);
    const v = tag >= 0x14 ? m : -m;
    out[k] = type === 'integer' ? (v === 0 ? 0 : v) : type === 'date' ? cachedDate(v) : msToDatetime(v);
    return pos + 1 + n;
  }
  if (type === 'text' && tag === 0x30) {
    for (let i = pos + 1; i < end; i++) {
      if (buf[i] !== 0) continue;
      if (buf[i + 1] !== 0x01) return -1; // an escaped 0x00: the slow path
      out[k] = text(buf, pos + 1, i);
      return i + 2;
    }
    return -1;
  }
  return -1;
}

/**
 * Decode a row from (key, value) byte ranges — possibly both inside one tree node's bytes, so a scan
 * allocates nothing but the row: the same result as decodeTableRow + toEngineValue.
 */
export type RowDecoderAt = (kb: Uint8Array, ks: number, ke: number, vb: Uint8Array, vs: number, ve: number) => EngineRow;

/**
 * A decoder for one schema, from byte ranges (docs/FORMAT.md, "Rows"). It is generated code: one
 * function per schema that builds each row as an object literal with the columns in a fixed order and
 * assigns cells by constant property names, which V8 turns into fixed-shape objects and monomorphic
 * stores — a full-table aggregate spends most of its time here.
 * @example rowDecoderAt(schema)(node.bytes, ks, ke, node.bytes, vs, ve)
 */
export function rowDecoderAt(schema: TableSchema): RowDecoderAt {
  const kc = keyColumns(schema);
  const nonKey = schema.columns.filter((c) => !kc.ids.includes(c.id));
  const names = [...kc.names, ...nonKey.map((c) => c.name)];
  const q = (name: string) => JSON.stringify(name);
  const defaults = nonKey.map((c) => c.default);
  const cases = nonKey
    .map((c) => `case ${c.id}: row[${q(c.name)}] = ${c.type === 'real' ? "typeof v === 'number' ? v : Number(v)" : 'v'}; break;`)
    .join('\n          ');
  const defaultsCode = nonKey
    .map((c, i) => `if (slots <= ${c.id}) row[${q(c.name)}] = ${c.default === null ? 'undefined' : typeof c.default === 'object' ? `h.copy(defaults[${i}])` : `defaults[${i}]`};`)
    .join('\n    ');
  const body = `
  const { fastKeyValue, decodeKey, toEngineValue, keyTypes, keyValues, defaults, text, cachedDate, msToDatetime, fail, F64 } = h;
  return function decodeRow(kb, ks, ke, b, vs, ve) {
    let p = ks;
    for (let k = 0; k < keyTypes.length && p >= 0; k++) p = fastKeyValue(kb, p, ke, keyTypes[k], keyValues, k);
    if (p !== ke) {
      const kv = decodeKey(kb.subarray(ks, ke), keyTypes);
      for (let k = 0; k < kv.length; k++) keyValues[k] = toEngineValue(kv[k]);
    }
    const row = { ${names.map((n, i) => `${q(n)}: ${i < kc.names.length ? `keyValues[${i}]` : 'undefined'}`).join(', ')} };
    if (b[vs] !== 1) fail(kb, ks, ke, 'row format version ' + b[vs] + ' is not supported');
    let pos = vs + 1;
    let slots = 0;
    let shift = 0;
    for (;;) {
      const x = b[pos++];
      slots += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) break;
      shift += 7;
      if (shift > 35) fail(kb, ks, ke, 'slot count varint too long');
    }
    const bitmapAt = pos;
    pos += (slots + 7) >> 3;
    ${defaultsCode}
    for (let id = 0; id < slots; id++) {
      if ((b[bitmapAt + (id >> 3)] & (1 << (id & 7))) === 0) continue;
      const tag = b[pos++];
      let v;
      switch (tag) {
        case 1: case 8: case 9: {
          let n = 0, sh = 0, big;
          for (;;) {
            const x = b[pos++];
            if (sh < 49) n += (x & 0x7f) * 2 ** sh;
            else { if (big === undefined) big = BigInt(n); big |= BigInt(x & 0x7f) << BigInt(sh); }
            if (x < 0x80) break;
            sh += 7;
          }
          let int;
          if (big !== undefined) {
            const z = big & 1n ? -((big + 1n) >> 1n) : big >> 1n;
            int = z >= -9007199254740991n && z <= 9007199254740991n ? Number(z) : z;
          } else int = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
          v = tag === 1 ? int : tag === 8 ? cachedDate(Number(int)) : msToDatetime(Number(int));
          break;
        }
        case 2:
          if (b.readDoubleBE) v = b.readDoubleBE(pos);
          else { for (let k = 0; k < 8; k++) F64.setUint8(k, b[pos + k]); v = F64.getFloat64(0); }
          pos += 8;
          break;
        case 3: v = false; break;
        case 4: v = true; break;
        case 5: case 6: case 7: {
          let len = 0, sh = 0;
          for (;;) {
            const x = b[pos++];
            len += (x & 0x7f) * 2 ** sh;
            if (x < 0x80) break;
            sh += 7;
          }
          const end = pos + len;
          if (end > ve) fail(kb, ks, ke, 'cell runs past the end of the row');
          if (tag === 6) v = Uint8Array.from(b.subarray(pos, end));
          else { const t = text(b, pos, end); v = tag === 5 ? t : JSON.parse(t); }
          pos = end;
          break;
        }
        default:
          fail(kb, ks, ke, 'unknown cell tag 0x' + tag.toString(16));
      }
      if (v === null) v = undefined;
      switch (id) {
          ${cases}
          default: break; // a dropped column's cell
      }
    }
    if (pos !== ve) fail(kb, ks, ke, (ve - pos) + ' trailing bytes');
    return row;
  };`;
  const helpers = {
    fastKeyValue,
    decodeKey,
    toEngineValue,
    keyTypes: kc.types,
    keyValues: new Array(kc.names.length),
    defaults,
    text,
    cachedDate,
    msToDatetime,
    F64,
    copy: (v: unknown) => toEngineValue(copyValue(v as never)),
    fail: (kb: Uint8Array, ks: number, ke: number, why: string): never => {
      throw badRow(schema.name, kb.subarray(ks, ke), why);
    },
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('h', body)(helpers) as RowDecoderAt;
}

/**
 * A decoder from whole (key, value) byte strings to engine rows for one schema.
 * @example rowDecoder(schema)(key, value) // { id: 1, name: 'Ada' }
 */
export function rowDecoder(schema: TableSchema): (key: Uint8Array, value: Uint8Array) => EngineRow {
  const at = rowDecoderAt(schema);
  return (key, value) => at(key, 0, key.length, value, 0, value.length);
}

/**
 * Tree value for an encoded row: inline, or a blob when over the inline limit.
 * @example await rowValue(chunks, schema, row)
 */
export async function rowValue(chunks: ChunkStore, schema: TableSchema, row: Readonly<Record<string, unknown>>): Promise<TreeValue> {
  return toTreeValue(chunks, encodeRow(schema, row));
}

export { ROWID_COLUMN };
