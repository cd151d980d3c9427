/**
 * Key ranges from column predicates: the part of access-path planning that needs no SQL parser. Given
 * the comparisons of columns with constants that a statement's WHERE (or JOIN … ON) implies, it plans
 * point reads, prefix ranges and ranges on the primary key or a secondary index:
 *
 *   pk = v, pk IN (…)               → point reads of whole keys
 *   a = v [AND b = w …] on a key prefix → a prefix range
 *   then <, <=, >, >=, BETWEEN on the next key column → a range
 *
 * src/sql/planner.ts finds the predicates in alasql's AST; src/sql/fast-select.ts finds them in its own
 * small parse of a primary-key SELECT, so that path never loads alasql.
 */
import { compareSqlValues } from './compare.js';
import { isEmptyRange, keyRange, prefixRange, type KeyBound, type KeyInput, type KeyRange } from './key-codec.js';
import { dateToDays, datetimeToMs, daysToDate, msToDatetime } from './temporal.js';
import { keyColumns, type IndexSchema, type TableSchema } from './schema.js';
import { compareBytes } from '../util/bytes.js';
import type { KeyColumnType } from './types.js';

/** A comparison of one column with constants. */
export interface Predicate {
  column: string;
  op: '=' | 'IN' | '<' | '<=' | '>' | '>=';
  /** One value, or the IN list. */
  values: unknown[];
  /** The SQL text it came from (for EXPLAIN). */
  text: string;
}

/** How a reference reads its table. */
export type AccessKind = 'empty' | 'pk-point' | 'pk-range' | 'index-point' | 'index-range' | 'full-scan';

/** The access path chosen for one reference. */
export interface AccessPlan {
  kind: AccessKind;
  /** Index used (index access). */
  index?: IndexSchema;
  /** Key ranges of the primary key or the index (sorted, disjoint); exact keys for point access. */
  ranges: KeyRange[];
  /** Predicates the ranges come from. */
  used: Predicate[];
  /** Human description of the key condition ('id = 5', 'region = eu AND day >= 2024-01-01'). */
  detail: string;
}

/** At most this many point keys / ranges from IN lists (cartesian products beyond are not expanded). */
const MAX_RANGES = 10_000;

/** Conversion of a constant to a key value of a column type, or undefined when it cannot be pushed. */
function keyValue(type: KeyColumnType, v: unknown): { value: KeyInput } | 'never' | undefined {
  if (v === null || v === undefined) return 'never'; // comparisons with NULL are never true
  switch (type) {
    case 'integer':
      if (typeof v === 'bigint') return { value: v };
      if (typeof v === 'number') return Number.isSafeInteger(v) ? { value: v } : Number.isFinite(v) && Math.abs(v) < 2 ** 53 ? undefined : undefined;
      return undefined;
    case 'real':
      return typeof v === 'number' && !Number.isNaN(v) ? { value: v } : undefined;
    case 'text':
      return typeof v === 'string' ? { value: v } : undefined;
    case 'boolean':
      return typeof v === 'boolean' ? { value: v } : undefined;
    case 'date':
      // The engine compares dates as text: only canonical text has the same order as the day number.
      if (typeof v !== 'string') return undefined;
      try {
        return daysToDate(dateToDays(v)) === v ? { value: v } : undefined;
      } catch {
        return undefined;
      }
    case 'datetime':
      if (typeof v !== 'string') return undefined;
      try {
        return msToDatetime(datetimeToMs(v)) === v ? { value: v } : undefined;
      } catch {
        return undefined;
      }
    case 'bytes':
      return v instanceof Uint8Array ? { value: v } : undefined;
  }
}

interface ColumnConstraint {
  eq?: KeyInput[];
  lower?: KeyBound;
  upper?: KeyBound;
  never?: boolean;
  used: Predicate[];
}

/** Fold the predicates on one column into an equality set and bounds. */
function constrain(type: KeyColumnType, preds: readonly Predicate[]): ColumnConstraint {
  const c: ColumnConstraint = { used: [] };
  for (const p of preds) {
    if (p.op === '=' || p.op === 'IN') {
      const vals: KeyInput[] = [];
      let usable = true;
      for (const v of p.values) {
        if (p.op === '=' && type === 'integer' && typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v)) continue; // 5 = 5.5: no row
        const k = keyValue(type, v);
        if (k === 'never') continue;
        if (k === undefined) {
          usable = false;
          break;
        }
        vals.push(k.value);
      }
      if (!usable) continue;
      const set = dedupe(vals, type);
      c.eq = c.eq ? c.eq.filter((x) => set.some((y) => compareSqlValues(x, y, type) === 0)) : set;
      c.used.push(p);
      continue;
    }
    const raw = p.values[0];
    let v = raw;
    let inclusive = p.op === '<=' || p.op === '>=';
    if (type === 'integer' && typeof raw === 'number' && Number.isFinite(raw) && !Number.isInteger(raw)) {
      // id > 5.5 ⇔ id > 5;  id < 5.5 ⇔ id < 6 (integers only)
      v = p.op === '>' || p.op === '>=' ? Math.floor(raw) : Math.ceil(raw);
      inclusive = false;
      if (!Number.isSafeInteger(v)) continue;
    }
    const k = keyValue(type, v);
    if (k === undefined) continue;
    c.used.push(p);
    if (k === 'never') {
      c.never = true;
      continue;
    }
    const bound: KeyBound = { value: k.value, inclusive };
    if (p.op === '>' || p.op === '>=') {
      if (!c.lower || tighterLower(bound, c.lower, type)) c.lower = bound;
    } else if (!c.upper || tighterUpper(bound, c.upper, type)) c.upper = bound;
  }
  return c;
}

function tighterLower(a: KeyBound, b: KeyBound, type: KeyColumnType): boolean {
  const c = compareSqlValues(a.value, b.value, type);
  return c > 0 || (c === 0 && !a.inclusive);
}

function tighterUpper(a: KeyBound, b: KeyBound, type: KeyColumnType): boolean {
  const c = compareSqlValues(a.value, b.value, type);
  return c < 0 || (c === 0 && !a.inclusive);
}

function dedupe(values: KeyInput[], type: KeyColumnType): KeyInput[] {
  const sorted = [...values].sort((a, b) => compareSqlValues(a, b, type));
  return sorted.filter((v, i) => i === 0 || compareSqlValues(sorted[i - 1]!, v, type) !== 0);
}

/** A key plan over some key columns (the primary key, or an index's columns). */
interface KeyPlan {
  ranges: KeyRange[];
  eqColumns: number;
  hasRange: boolean;
  full: boolean;
  never: boolean;
  used: Predicate[];
  detail: string;
}

/**
 * Plan key ranges over `columns` (names and types, in key order; `keyTypes` are the types of every
 * column of the key, which may be longer — an index key ends with the primary key).
 */
function planKey(columns: readonly { name: string; type: KeyColumnType }[], keyTypes: readonly KeyColumnType[], preds: readonly Predicate[]): KeyPlan | undefined {
  const eqLists: KeyInput[][] = [];
  const used: Predicate[] = [];
  const parts: string[] = [];
  let bounds: ColumnConstraint | undefined;
  for (const col of columns) {
    const mine = preds.filter((p) => p.column === col.name);
    if (mine.length === 0) break;
    const c = constrain(col.type, mine);
    if (c.never || (c.eq && c.eq.length === 0)) {
      return { ranges: [], eqColumns: 0, hasRange: false, full: false, never: true, used: c.used, detail: `${c.used.map((p) => p.text).join(' AND ')} (matches nothing)` };
    }
    if (c.eq) {
      eqLists.push(c.eq);
      used.push(...c.used.filter((p) => p.op === '=' || p.op === 'IN'));
      parts.push(c.eq.length === 1 ? `${col.name} = ${show(c.eq[0])}` : `${col.name} IN (${c.eq.length} values)`);
      continue;
    }
    if (c.lower || c.upper) {
      bounds = c;
      used.push(...c.used);
      if (c.lower) parts.push(`${col.name} ${c.lower.inclusive ? '>=' : '>'} ${show(c.lower.value)}`);
      if (c.upper) parts.push(`${col.name} ${c.upper.inclusive ? '<=' : '<'} ${show(c.upper.value)}`);
    }
    break;
  }
  if (eqLists.length === 0 && !bounds) return undefined;
  // Cartesian product of the equality lists, capped.
  let combos: KeyInput[][] = [[]];
  let eqColumns = 0;
  for (const list of eqLists) {
    if (combos.length * list.length > MAX_RANGES) break;
    combos = combos.flatMap((c) => list.map((v) => [...c, v]));
    eqColumns++;
  }
  const useBounds = bounds && eqColumns === eqLists.length;
  const ranges: KeyRange[] = [];
  for (const combo of combos) {
    const r = useBounds ? keyRange({ types: keyTypes, equal: combo, lower: bounds!.lower, upper: bounds!.upper }) : prefixRange(combo, keyTypes);
    if (!isEmptyRange(r)) ranges.push(r);
  }
  ranges.sort((a, b) => compareBytes(a.start, b.start));
  const full = eqColumns === keyTypes.length;
  return {
    ranges,
    eqColumns,
    hasRange: Boolean(useBounds),
    full,
    never: ranges.length === 0,
    used,
    detail: parts.slice(0, eqColumns + (useBounds ? (bounds!.lower ? 1 : 0) + (bounds!.upper ? 1 : 0) : 0)).join(' AND '),
  };
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return String(v);
}

/**
 * Candidate access paths for a table reference, best first by how many leading key columns they fix:
 * a point read when the whole primary key is fixed, else key plans on the primary key or an index —
 * equalities first, then a range. Always ends with a full scan. A plan that can match nothing is the
 * only candidate ('empty').
 * @example planCandidates(schema, predicates)[0].kind // 'pk-point'
 */
export function planCandidates(schema: TableSchema, preds: readonly Predicate[], indexes: readonly IndexSchema[] = schema.indexes ?? []): AccessPlan[] {
  const kc = keyColumns(schema);
  const scored: { plan: AccessPlan; score: number }[] = [];
  if (preds.length > 0) {
    const pk = planKey(
      kc.names.map((name, i) => ({ name, type: kc.types[i]! })),
      kc.types,
      preds,
    );
    if (pk) {
      if (pk.never) return [{ kind: 'empty', ranges: [], used: pk.used, detail: pk.detail }];
      scored.push({ plan: { kind: pk.full ? 'pk-point' : 'pk-range', ranges: pk.ranges, used: pk.used, detail: pk.detail }, score: pk.full ? 1000 : pk.eqColumns * 10 + (pk.hasRange ? 5 : 0) + 1 });
    }
    for (const index of indexes) {
      const cols = index.columns.map((id) => schema.columns.find((c) => c.id === id)!);
      const types = [...cols.map((c) => c.type as KeyColumnType), ...kc.types];
      const ix = planKey(
        cols.map((c) => ({ name: c.name, type: c.type as KeyColumnType })),
        types,
        preds,
      );
      if (!ix) continue;
      if (ix.never) return [{ kind: 'empty', ranges: [], used: ix.used, detail: ix.detail }];
      const whole = ix.eqColumns === cols.length;
      scored.push({ plan: { kind: whole ? 'index-point' : 'index-range', index, ranges: ix.ranges, used: ix.used, detail: ix.detail }, score: (whole && index.unique ? 900 : 0) + ix.eqColumns * 10 + (ix.hasRange ? 5 : 0) });
    }
  }
  scored.sort((a, b) => b.score - a.score);
  return [...scored.map((s) => s.plan), { kind: 'full-scan', ranges: [], used: [], detail: '' }];
}

/**
 * Pick the cheapest candidate given row estimates (undefined: unknown). An index read costs a point read
 * of the row per match, so its rows count three times; unknown estimates keep the candidates' order.
 * @example pickPlan(candidates, [1, 5000, 1000000])
 */
export function pickPlan(candidates: readonly AccessPlan[], estimates: readonly (number | undefined)[]): { plan: AccessPlan; estimate: number | undefined } {
  let best = 0;
  const cost = (i: number) => (estimates[i] === undefined ? undefined : estimates[i]! * (candidates[i]!.index ? 3 : 1));
  for (let i = 1; i < candidates.length; i++) {
    const ci = cost(i);
    const cb = cost(best);
    if (ci !== undefined && cb !== undefined && ci < cb) best = i;
  }
  return { plan: candidates[best]!, estimate: estimates[best] };
}
