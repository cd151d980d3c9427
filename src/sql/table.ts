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
import type { Node } from '../tree/node.js';
import type { NodeStore } from '../tree/node-store.js';
import { ProllyTree, type Edit } from '../tree/prolly-tree.js';
import { compareBytes, toHex } from '../util/bytes.js';
import { decodeKey, isEmptyRange, type KeyRange } from './key-codec.js';
import { encodeRow, RowTag } from './row-codec.js';
import { copyValue, keyColumns, ROWID_COLUMN, type ColumnSchema, type KeyColumns, type TableSchema } from './schema.js';
import { daysToDate, msToDatetime } from './temporal.js';
import type { TableState } from './table-store.js';
import { toEngineValue, type EngineRow } from './values.js';

/** A table opened for reading: its state, tree and key columns. */
export class TableHandle {
  readonly name: string;
  readonly state: TableState;
  readonly tree: ProllyTree;
  readonly keys: KeyColumns;
  readonly decode: (key: Uint8Array, value: Uint8Array) => EngineRow;
  /** Rows decoded so far through this handle (for plans and tests). */
  rowsRead = 0;

  private constructor(name: string, state: TableState, tree: ProllyTree) {
    this.name = name;
    this.state = state;
    this.tree = tree;
    this.keys = keyColumns(state.schema);
    this.decode = rowDecoder(state.schema);
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

/**
 * A decoder from (key, value) bytes to an engine row for one schema: the same result as
 * decodeTableRow + toEngineValue, without intermediate maps (docs/FORMAT.md, "Rows").
 * @example rowDecoder(schema)(key, value) // { id: 1, name: 'Ada' }
 */
export function rowDecoder(schema: TableSchema): (key: Uint8Array, value: Uint8Array) => EngineRow {
  const kc = keyColumns(schema);
  const byId: (ColumnSchema | undefined)[] = [];
  for (const c of schema.columns) if (!kc.ids.includes(c.id)) byId[c.id] = c;
  const nonKey = schema.columns.filter((c) => !kc.ids.includes(c.id));
  const keyNames = kc.names;
  const table = schema.name;
  return (key: Uint8Array, value: Uint8Array): EngineRow => {
    const row: EngineRow = {};
    const kv = decodeKey(key, kc.types);
    for (let k = 0; k < keyNames.length; k++) row[keyNames[k]!] = toEngineValue(kv[k]!);
    // Row value: version, slots, presence bitmap, cells in column-id order.
    if (value[0] !== 1) throw badRow(table, key, `row format version ${value[0]} is not supported`);
    let pos = 1;
    let slots = 0;
    let shift = 0;
    for (;;) {
      const b = value[pos++]!;
      slots += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 35) throw badRow(table, key, 'slot count varint too long');
    }
    const bitmapAt = pos;
    pos += (slots + 7) >> 3;
    for (const c of nonKey) row[c.name] = c.id >= slots ? toEngineValue(copyValue(c.default)) : undefined;
    for (let id = 0; id < slots; id++) {
      if ((value[bitmapAt + (id >> 3)]! & (1 << (id & 7))) === 0) continue;
      const col = byId[id];
      const tag = value[pos++]!;
      let v: unknown;
      switch (tag) {
        case RowTag.INTEGER:
        case RowTag.DATE:
        case RowTag.DATETIME: {
          // Zigzag LEB128; numbers up to 2^53 stay numbers.
          let n = 0;
          let sh = 0;
          let big: bigint | undefined;
          for (;;) {
            const b = value[pos++]!;
            if (sh < 49) n += (b & 0x7f) * 2 ** sh;
            else {
              big ??= BigInt(n);
              big |= BigInt(b & 0x7f) << BigInt(sh);
            }
            if (b < 0x80) break;
            sh += 7;
          }
          let int: number | bigint;
          if (big !== undefined) {
            const z = big & 1n ? -((big + 1n) >> 1n) : big >> 1n;
            int = z >= -9007199254740991n && z <= 9007199254740991n ? Number(z) : z;
          } else int = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
          v = tag === RowTag.INTEGER ? int : tag === RowTag.DATE ? daysToDate(Number(int)) : msToDatetime(Number(int));
          break;
        }
        case RowTag.REAL:
          for (let k = 0; k < 8; k++) F64.setUint8(k, value[pos + k]!);
          v = F64.getFloat64(0);
          pos += 8;
          break;
        case RowTag.FALSE:
          v = false;
          break;
        case RowTag.TRUE:
          v = true;
          break;
        case RowTag.TEXT:
        case RowTag.BYTES:
        case RowTag.JSON: {
          let len = 0;
          let sh = 0;
          for (;;) {
            const b = value[pos++]!;
            len += (b & 0x7f) * 2 ** sh;
            if (b < 0x80) break;
            sh += 7;
          }
          const end = pos + len;
          if (end > value.length) throw badRow(table, key, 'cell runs past the end of the row');
          if (tag === RowTag.BYTES) v = Uint8Array.from(value.subarray(pos, end));
          else {
            const text = Buffer.isBuffer(value) ? value.toString('utf8', pos, end) : fatalUtf8.decode(value.subarray(pos, end));
            v = tag === RowTag.TEXT ? text : JSON.parse(text);
          }
          pos = end;
          break;
        }
        default:
          throw badRow(table, key, `unknown cell tag 0x${tag.toString(16)}`);
      }
      if (!col) continue; // a dropped column's cell
      if (col.type === 'real' && typeof v !== 'number') v = Number(v); // an integer written before the column became real
      row[col.name] = v === null ? undefined : v;
    }
    if (pos !== value.length) throw badRow(table, key, `${value.length - pos} trailing bytes`);
    if (kc.hidden) return row; // _rowid is already set from the key
    return row;
  };
}

/**
 * Tree value for an encoded row: inline, or a blob when over the inline limit.
 * @example await rowValue(chunks, schema, row)
 */
export async function rowValue(chunks: ChunkStore, schema: TableSchema, row: Readonly<Record<string, unknown>>): Promise<TreeValue> {
  return toTreeValue(chunks, encodeRow(schema, row));
}

/** Sort edits by key (the tree sorts too; sorted edits make conflicts and counts easy to reason about). */
export function sortEdits(edits: Edit[]): Edit[] {
  return edits.sort((a, b) => compareBytes(a.key, b.key));
}

export { ROWID_COLUMN };
