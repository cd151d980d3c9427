/**
 * Access paths: which part of a table's tree a reference must read. The planner takes the conjuncts of
 * the reference's WHERE (and its JOIN … ON) that compare one of its columns with a constant, and turns
 * them into key ranges on the primary key or on a secondary index:
 *
 *   pk = v, pk IN (…)               → point reads of whole keys
 *   a = v [AND b = w …] on a key prefix → a prefix range
 *   then <, <=, >, >=, BETWEEN on the next key column → a range
 *
 * alasql still applies the whole WHERE to the rows read, so a plan only has to read a superset of the
 * matching rows; whatever it cannot narrow it reads whole (a full scan), and says so in EXPLAIN.
 */
import { yy, type Any } from './alasql-runtime.js';
import { resolveColumn, unwrap, type Scope, type TableRef } from './analyze.js';
import type { Predicate } from './key-plan.js';

export { pickPlan, planCandidates, type AccessKind, type AccessPlan, type Predicate } from './key-plan.js';

/**
 * Split an expression into its top-level AND conjuncts.
 * @example conjuncts(parse("a = 1 AND (b < 2 AND c > 3)")) // three expressions
 */
export function conjuncts(e: Any): Any[] {
  const x = unwrap(e);
  if (!x) return [];
  if (x instanceof yy.Op && x.op === 'AND' && !x.allsome) return [...conjuncts(x.left), ...conjuncts(x.right)];
  if (x instanceof yy.UniOp && x.op === undefined) return conjuncts(x.right); // parentheses
  return [x];
}

/** The value of a constant expression, or NOT_CONSTANT. */
const NOT_CONSTANT = Symbol('not constant');
function constantValue(e: Any, params: Any): unknown {
  const x = e instanceof yy.UniOp && e.op === undefined ? e.right : e;
  if (x instanceof yy.NumValue || x instanceof yy.StringValue || x instanceof yy.LogicValue) return x.value;
  if (x instanceof yy.NullValue) return null;
  if (x instanceof yy.ParamValue) {
    const v = params?.[x.param];
    return v === undefined ? NOT_CONSTANT : v;
  }
  if (x instanceof yy.UniOp && x.op === '-') {
    const v = constantValue(x.right, params);
    return typeof v === 'number' || typeof v === 'bigint' ? -v : NOT_CONSTANT;
  }
  return NOT_CONSTANT;
}

const FLIP: Record<string, Predicate['op']> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** Column of `ref` that an expression names, if it is a plain column reference resolving to `ref`. */
function refColumnName(scope: Scope, ref: TableRef, e: Any): string | undefined {
  const x = e instanceof yy.UniOp && e.op === undefined ? e.right : e;
  if (!(x instanceof yy.Column)) return undefined;
  const r = resolveColumn(scope, x);
  return r && r.ref === ref ? r.column.name : undefined;
}

/**
 * The predicates on `ref` in one conjunct (an OR of equalities on one column becomes an IN).
 * @example predicatesOf(scope, ref, conjunct, params)
 */
export function predicatesOf(scope: Scope, ref: TableRef, c: Any, params: Any): Predicate[] {
  const x = unwrap(c);
  if (!(x instanceof yy.Op)) {
    if (x instanceof yy.UniOp && x.op === undefined) return predicatesOf(scope, ref, x.right, params);
    return [];
  }
  const text = safeText(x);
  const op = String(x.op);
  if (op in FLIP) {
    const lc = refColumnName(scope, ref, x.left);
    const rc = refColumnName(scope, ref, x.right);
    if (lc !== undefined && rc === undefined) {
      const v = constantValue(x.right, params);
      if (v !== NOT_CONSTANT) return [{ column: lc, op: op as Predicate['op'], values: [v], text }];
    } else if (rc !== undefined && lc === undefined) {
      const v = constantValue(x.left, params);
      if (v !== NOT_CONSTANT) return [{ column: rc, op: FLIP[op]!, values: [v], text }];
    }
    return [];
  }
  if (op === 'IN' && Array.isArray(x.right)) {
    const col = refColumnName(scope, ref, x.left);
    if (col === undefined) return [];
    const values = x.right.map((v: Any) => constantValue(v, params));
    if (values.some((v: unknown) => v === NOT_CONSTANT)) return [];
    return [{ column: col, op: 'IN', values, text }];
  }
  if (op === 'BETWEEN') {
    const col = refColumnName(scope, ref, x.left);
    const lo = constantValue(x.right1, params);
    const hi = constantValue(x.right2, params);
    if (col === undefined || lo === NOT_CONSTANT || hi === NOT_CONSTANT) return [];
    return [
      { column: col, op: '>=', values: [lo], text },
      { column: col, op: '<=', values: [hi], text },
    ];
  }
  if (op === 'OR') {
    // a = 1 OR a = 2 OR a IN (3, 4) → a IN (1, 2, 3, 4)
    const parts = disjuncts(x).map((d) => predicatesOf(scope, ref, d, params));
    if (parts.some((p) => p.length !== 1 || (p[0]!.op !== '=' && p[0]!.op !== 'IN'))) return [];
    const col = parts[0]![0]!.column;
    if (parts.some((p) => p[0]!.column !== col)) return [];
    return [{ column: col, op: 'IN', values: parts.flatMap((p) => p[0]!.values), text }];
  }
  return [];
}

function disjuncts(e: Any): Any[] {
  const x = unwrap(e);
  if (x instanceof yy.Op && x.op === 'OR') return [...disjuncts(x.left), ...disjuncts(x.right)];
  if (x instanceof yy.UniOp && x.op === undefined) return disjuncts(x.right);
  return [x];
}

function safeText(x: Any): string {
  try {
    return String(x.toString());
  } catch {
    return '?';
  }
}

/**
 * All pushable predicates for a reference: WHERE conjuncts of its scope, and the ON conjuncts of its own
 * join (or of any inner join). Nothing is pushed in a scope with a RIGHT or FULL OUTER join, where
 * filtering a side early would change which rows are null-extended.
 * @example pushablePredicates(ref, params)
 */
export function pushablePredicates(ref: TableRef, params: Any): Predicate[] {
  const scope = ref.scope;
  if (scope.refs.some((r) => r.join && ['RIGHT', 'OUTER', 'FULL', 'FULL OUTER', 'ANTI'].includes(r.join.mode))) return [];
  const list: Any[] = [...conjuncts(scope.where)];
  for (const r of scope.refs) {
    if (!r.join?.on) continue;
    if (r.join.mode === 'INNER' || r.join.mode === 'CROSS' || r === ref) list.push(...conjuncts(r.join.on));
  }
  return list.flatMap((c) => predicatesOf(scope, ref, c, params));
}
