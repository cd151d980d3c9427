/**
 * Statement analysis on alasql's AST, before it runs:
 * - find every table reference (FROM, JOIN, subqueries, UNION branches, CTE bodies, INSERT … SELECT) and
 *   give each its own in-memory table name, so each gets exactly the rows its own predicates need and a
 *   table can be read at two revisions in one query;
 * - resolve column names against the schemas (case-insensitively, as SQL does; alasql is case-sensitive);
 * - mark `integer / integer` so it truncates as in SQLite;
 * - route MIN / MAX / SUM to the SQL-correct aggregates of src/sql/alasql-runtime.ts.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { SQL_FUNCTIONS, yy, type Any } from './alasql-runtime.js';
import { REVISION_SEPARATOR } from './lexer.js';
import { findColumn, sameName, type ColumnSchema, type TableSchema } from './schema.js';
import type { ColumnType } from './types.js';

/** What a table reference points at. */
export type RefKind = 'table' | 'system' | 'diff' | 'cte' | 'derived' | 'other';

/** One table reference in a statement. */
export interface TableRef {
  id: number;
  kind: RefKind;
  /** The AST node (a yy.Table, or the node that replaced a table function). */
  node: Any;
  /** Table name as written (without `@rev`). */
  name: string;
  /** Revision from `name AS OF 'rev'` / `name@rev`. */
  rev?: string;
  /** The name columns are qualified with. */
  alias: string;
  /** The in-memory table the engine loads the rows into. */
  internal: string;
  scope: Scope;
  /** Set when the reference is the table of a JOIN. */
  join?: { mode: string; on?: Any; using?: Any };
  /** Arguments of a table function (prolly_diff). */
  args?: Any[];
  /** Schema, once resolved (tables, and system / diff tables). */
  schema?: TableSchema;
  /** Column names when there is no schema (system tables). */
  columns?: string[];
  /** True for the target of UPDATE / DELETE. */
  target?: boolean;
}

/** A SELECT (or UPDATE / DELETE) and the references of its FROM / JOIN clauses. */
export interface Scope {
  node: Any;
  refs: TableRef[];
  parent?: Scope;
  /** WHERE expression (unwrapped). */
  where?: Any;
}

/** Names of the system tables (see src/sql/system-tables.ts). */
export const SYSTEM_TABLES = ['prolly_log', 'prolly_branches', 'prolly_tables'] as const;
/** The diff table function. */
export const DIFF_FUNCTION = 'prolly_diff';

/** The references and scopes of a statement. */
export interface Analysis {
  refs: TableRef[];
  scopes: Scope[];
}

/**
 * Collect the table references of a statement and rename them to private in-memory tables. UPDATE and
 * DELETE get a scope whose only reference is the target (renamed too).
 * @example const { refs } = collectRefs(ast)
 */
export function collectRefs(ast: Any): Analysis {
  const refs: TableRef[] = [];
  const scopes: Scope[] = [];
  let next = 1;
  const newRef = (r: Omit<TableRef, 'id' | 'internal'>): TableRef => {
    const id = next++;
    const ref: TableRef = { ...r, id, internal: `__prolly_t${id}` };
    refs.push(ref);
    r.scope.refs.push(ref);
    return ref;
  };

  const tableRef = (node: Any, scope: Scope, ctes: Set<string>, join?: TableRef['join']): void => {
    if (node.databaseid) {
      throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `database-qualified table names (${node.databaseid}.${node.tableid}) are not supported; read another revision with ${node.tableid} AS OF 'rev'`, { table: node.tableid });
    }
    const written = String(node.tableid);
    const sep = written.indexOf(REVISION_SEPARATOR);
    const name = sep >= 0 ? written.slice(0, sep) : written;
    const rev = sep >= 0 ? written.slice(sep + 1) : undefined;
    const alias = node.as ?? name;
    if (rev === undefined && [...ctes].some((c) => sameName(c, name))) {
      newRef({ kind: 'cte', node, name, alias, scope, join });
      return; // alasql binds CTE names itself
    }
    const system = SYSTEM_TABLES.find((s) => sameName(s, name));
    const ref = newRef({ kind: system && rev === undefined ? 'system' : 'table', node, name: system ?? name, rev, alias, scope, join });
    node.tableid = ref.internal;
    node.as = alias;
  };

  const walkSelect = (select: Any, parent: Scope | undefined, ctes: Set<string>): void => {
    if (select instanceof yy.WithSelect) {
      const inner = new Set(ctes);
      for (const w of select.withs ?? []) {
        walkSelect(w.select, parent, inner);
        inner.add(String(w.name));
      }
      walkSelect(select.select, parent, inner);
      return;
    }
    const scope: Scope = { node: select, refs: [], parent, where: unwrap(select.where) };
    scopes.push(scope);
    (select.from ?? []).forEach((f: Any, i: number) => {
      if (f instanceof yy.Table) tableRef(f, scope, ctes);
      else if (f instanceof yy.Select || f instanceof yy.WithSelect) {
        walkSelect(f, scope, ctes);
        newRef({ kind: 'derived', node: f, name: f.as ?? `subquery${i}`, alias: f.as ?? '', scope });
      } else if (f instanceof yy.FuncValue && sameName(String(f.funcid), DIFF_FUNCTION)) {
        const table = new yy.Table({ tableid: '' });
        const ref = newRef({ kind: 'diff', node: table, name: DIFF_FUNCTION, alias: f.as ?? DIFF_FUNCTION, scope, args: f.args ?? [] });
        table.tableid = ref.internal;
        table.as = ref.alias;
        select.from[i] = table;
      } else {
        newRef({ kind: 'other', node: f, name: String(f.funcid ?? f.tableid ?? 'source'), alias: f.as ?? '', scope });
      }
    });
    for (const j of select.joins ?? []) {
      const join = { mode: String(j.joinmode ?? 'INNER').toUpperCase(), on: j.on, using: j.using };
      if (j.table) {
        const t = j.table;
        // alasql keeps a join's alias on the join, not on its table
        if (j.as !== undefined && t.as === undefined) t.as = j.as;
        tableRef(t, scope, ctes, join);
        j.as = t.as;
      } else if (j.select) {
        walkSelect(j.select, scope, ctes);
        newRef({ kind: 'derived', node: j.select, name: j.as ?? 'subquery', alias: j.as ?? '', scope, join });
      } else {
        newRef({ kind: 'other', node: j, name: 'source', alias: j.as ?? '', scope, join });
      }
    }
    // Subqueries in expressions, and set operations.
    for (const key of ['columns', 'where', 'group', 'having', 'order', 'top', 'limit', 'offset'] as const) {
      findSelects(select[key], (s) => walkSelect(s, scope, ctes));
    }
    for (const j of select.joins ?? []) findSelects(j.on, (s) => walkSelect(s, scope, ctes));
    for (const key of ['union', 'unionall', 'except', 'intersect'] as const) {
      if (select[key]) walkSelect(select[key], parent, ctes);
    }
  };

  if (ast instanceof yy.Select || ast instanceof yy.WithSelect) {
    walkSelect(ast, undefined, new Set());
  } else if (ast instanceof yy.Update || ast instanceof yy.Delete) {
    const scope: Scope = { node: ast, refs: [], where: unwrap(ast.where) };
    scopes.push(scope);
    const target = ast.table;
    const name = String(target.tableid);
    if (name.includes(REVISION_SEPARATOR)) throw readOnlyRevision(name);
    const ref = newRef({ kind: 'table', node: target, name, alias: name, scope, target: true });
    target.tableid = ref.internal;
    findSelects(ast.where, (s) => walkSelect(s, scope, new Set()));
    for (const c of ast.columns ?? []) findSelects(c.expression, (s) => walkSelect(s, scope, new Set()));
  } else if (ast instanceof yy.Insert) {
    if (ast.select) walkSelect(ast.select, undefined, new Set());
    for (const row of ast.values ?? []) for (const v of row) findSelects(v, (s) => walkSelect(s, undefined, new Set()));
  }
  return { refs, scopes };
}

function readOnlyRevision(name: string): ProllyError {
  return new ProllyError(ErrorCodes.READ_ONLY, `${name.replace(REVISION_SEPARATOR, ' AS OF ')}: tables at a revision are read-only`, { table: name });
}

/**
 * The expression inside a WHERE clause (alasql wraps SELECT's in a yy.Expression).
 * @example unwrap(select.where) // the yy.Op inside
 */
export function unwrap(e: Any): Any {
  let x = e;
  while (x && x instanceof yy.Expression) x = x.expression;
  return x;
}

/**
 * Call `found` for each subquery (yy.Select) inside an expression tree, without descending into them.
 * @example findSelects(select.where, (sub) => subqueries.push(sub))
 */
export function findSelects(node: Any, found: (s: Any) => void, seen = new Set<Any>()): void {
  if (node === null || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  if (node instanceof yy.Select || node instanceof yy.WithSelect) {
    found(node);
    return;
  }
  if (Array.isArray(node)) {
    for (const x of node) findSelects(x, found, seen);
    return;
  }
  for (const k of Object.keys(node)) {
    if (k === 'queries' || k === 'queriesfn') continue;
    findSelects(node[k], found, seen);
  }
}

/**
 * Call `visit` on every node of an expression tree (not inside subqueries); post-order.
 * @example walkExpression(expr, (n) => { if (n instanceof yy.Column) names.push(n.columnid); })
 */
export function walkExpression(node: Any, visit: (n: Any, parent: Any) => void, parent: Any = undefined, seen = new Set<Any>()): void {
  if (node === null || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  if (node instanceof yy.Select || node instanceof yy.WithSelect) return;
  if (Array.isArray(node)) {
    for (const x of node) walkExpression(x, visit, parent, seen);
    return;
  }
  for (const k of Object.keys(node)) {
    if (k === 'queries' || k === 'queriesfn') continue;
    walkExpression(node[k], visit, node, seen);
  }
  visit(node, parent);
}

/**
 * The column of a reference named `name` (case-insensitive), if the reference's columns are known.
 * @example refColumn(ref, 'NAME')?.name // 'name'
 */
export function refColumn(ref: TableRef, name: string): ColumnSchema | { name: string; type?: ColumnType } | undefined {
  if (ref.schema) {
    const c = findColumn(ref.schema, name);
    if (c) return c;
    if (ref.schema.primaryKey.length === 0 && sameName(name, '_rowid')) return { name: '_rowid', type: 'integer' };
    return undefined;
  }
  if (ref.columns) {
    const n = ref.columns.find((c) => sameName(c, name));
    return n === undefined ? undefined : { name: n };
  }
  return undefined;
}

/** True when a reference's columns are known (tables and system tables). */
function knownColumns(ref: TableRef): boolean {
  return ref.schema !== undefined || ref.columns !== undefined;
}

/**
 * Resolve a column reference in a scope: the reference (alias match, or the one source that has the
 * column) and the column; undefined when it is an outer reference, an output alias or ambiguous.
 * @example resolveColumn(scope, columnNode) // { ref, column }
 */
export function resolveColumn(scope: Scope, col: Any): { ref: TableRef; column: ColumnSchema | { name: string; type?: ColumnType } } | undefined {
  const cid = String(col.columnid);
  if (cid === '*') return undefined;
  if (col.tableid !== undefined) {
    const tid = String(col.tableid);
    const exact = scope.refs.filter((r) => r.alias === tid);
    const ref = exact.length === 1 ? exact[0] : scope.refs.filter((r) => sameName(r.alias, tid)).length === 1 ? scope.refs.find((r) => sameName(r.alias, tid)) : undefined;
    if (!ref) return undefined;
    const column = refColumn(ref, cid);
    return column ? { ref, column } : undefined;
  }
  if (scope.refs.some((r) => !knownColumns(r))) {
    // A derived table, CTE or function may have this column too; only a lone table is certain.
    if (scope.refs.length !== 1) return undefined;
  }
  const matches = scope.refs.map((ref) => ({ ref, column: refColumn(ref, cid) })).filter((m) => m.column !== undefined);
  return matches.length === 1 ? (matches[0] as { ref: TableRef; column: ColumnSchema }) : undefined;
}

/** Resolve a column in a scope or, failing that, its enclosing scopes (correlated subqueries). */
function resolveAnywhere(scope: Scope, col: Any): { ref: TableRef; column: ColumnSchema | { name: string; type?: ColumnType } } | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const r = resolveColumn(s, col);
    if (r) return r;
  }
  return undefined;
}

/** The expressions a scope owns (not those of nested scopes). */
function scopeExpressions(scope: Scope): Any[] {
  const n = scope.node;
  const out: Any[] = [];
  if (n instanceof yy.Update) {
    out.push(n.where);
    for (const c of n.columns ?? []) out.push(c.expression);
    return out;
  }
  if (n instanceof yy.Delete) return [n.where];
  for (const key of ['columns', 'where', 'group', 'having', 'order'] as const) out.push(n[key]);
  for (const j of n.joins ?? []) out.push(j.on, j.using);
  return out;
}

/**
 * After the schemas are known: give every column reference the exact spelling of its column (SQL names
 * are case-insensitive, alasql's are not), mark integer divisions, and use the SQL aggregates.
 * @example normalizeScopes(analysis, params)
 */
export function normalizeScopes(analysis: Analysis, params: Any): void {
  for (const scope of analysis.scopes) {
    const aliases = outputAliases(scope);
    const checkable = allColumnsKnown(scope);
    for (const e of scopeExpressions(scope)) {
      walkExpression(e, (node) => {
        if (node instanceof yy.Column) {
          const r = resolveAnywhere(scope, node);
          if (r) {
            node.columnid = r.column.name;
            if (node.tableid !== undefined) node.tableid = r.ref.alias;
          } else if (checkable && String(node.columnid) !== '*' && !(node.tableid === undefined && aliases.has(String(node.columnid).toLowerCase()))) {
            // alasql would read an unknown column as NULL; SQL says it is an error.
            const name = node.tableid !== undefined ? `${node.tableid}.${node.columnid}` : String(node.columnid);
            const tables = scope.refs.map((r) => r.alias || r.name).join(', ');
            throw new ProllyError(ErrorCodes.SQL_NAME, `no such column: ${name}${tables ? ` (in ${tables})` : ''}`, { column: name });
          }
        }
      });
    }
    if (scope.node instanceof yy.Update) {
      for (const c of scope.node.columns ?? []) {
        const ref = scope.refs[0]!;
        const col = refColumn(ref, String(c.column.columnid));
        if (!col) throw new ProllyError(ErrorCodes.SQL_NAME, `table ${JSON.stringify(ref.name)} has no column ${JSON.stringify(c.column.columnid)}`, { table: ref.name, column: c.column.columnid });
        c.column.columnid = col.name;
      }
    }
    const select = scope.node;
    if (select instanceof yy.Select) {
      // Keep the user's column names for aggregates that are renamed below.
      for (const c of select.columns ?? []) {
        if (c.as === undefined && containsAggregate(c)) c.as = c.toString();
      }
    }
    for (const e of scopeExpressions(scope)) {
      walkExpression(e, (node) => {
        if (node instanceof yy.AggrValue) rewriteAggregate(node);
        if (node instanceof yy.FuncValue && typeof node.funcid === 'string' && node.funcid.toUpperCase() in SQL_FUNCTIONS) node.funcid = node.funcid.toUpperCase();
      });
      markIntegerDivision(e, scope, params);
    }
  }
}

/** Lower-cased output column aliases of a SELECT (ORDER BY / GROUP BY / HAVING may name them). */
function outputAliases(scope: Scope): Set<string> {
  const out = new Set<string>();
  for (const c of scope.node?.columns ?? []) if (c?.as !== undefined) out.add(String(c.as).toLowerCase());
  return out;
}

/** True when every source visible from a scope has known columns, so an unresolved name is an error. */
function allColumnsKnown(scope: Scope): boolean {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (s.refs.some((r) => !knownColumns(r))) return false;
  }
  return true;
}

function containsAggregate(e: Any): boolean {
  let found = false;
  walkExpression(e, (n) => {
    if (n instanceof yy.AggrValue) found = true;
  });
  return found;
}

function rewriteAggregate(node: Any): void {
  const id = String(node.aggregatorid ?? '').toUpperCase();
  if (id === 'MIN' || id === 'MAX' || (id === 'SUM' && !node.distinct)) {
    node.aggregatorid = 'REDUCE';
    node.funcid = `PROLLY_${id}`;
    node.args = [node.expression];
    node.distinct = false;
  }
}

type InferredType = 'integer' | 'real' | 'other';

/** Infer expression types bottom-up and mark `/` whose operands are both integers. */
function markIntegerDivision(expr: Any, scope: Scope, params: Any): InferredType {
  const typeOf = (n: Any): InferredType => {
    if (n === null || typeof n !== 'object') return 'other';
    if (n instanceof yy.NumValue) return Number.isInteger(n.value) && !n.prollyReal ? 'integer' : 'real';
    if (n instanceof yy.ParamValue) {
      const v = params?.[n.param];
      return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)) ? 'integer' : typeof v === 'number' ? 'real' : 'other';
    }
    if (n instanceof yy.Column) {
      const r = resolveAnywhere(scope, n);
      const t = r?.column.type;
      return t === 'integer' ? 'integer' : t === 'real' ? 'real' : 'other';
    }
    if (n instanceof yy.UniOp) {
      const t = typeOf(n.right);
      return n.op === '-' || n.op === '+' || n.op === undefined ? t : 'other';
    }
    if (n instanceof yy.Op) {
      const l = typeOf(n.left);
      const r = n.right && typeof n.right === 'object' && !Array.isArray(n.right) ? typeOf(n.right) : 'other';
      if (['+', '-', '*', '%', '/'].includes(n.op)) {
        if (n.op === '/' && l === 'integer' && r === 'integer') n.prollyIntegerDivision = true;
        if (l === 'integer' && r === 'integer') return 'integer';
        if ((l === 'integer' || l === 'real') && (r === 'integer' || r === 'real')) return 'real';
        return 'other';
      }
      return 'other';
    }
    if (n instanceof yy.AggrValue) {
      const id = String(n.funcid ?? n.aggregatorid).toUpperCase();
      if (id === 'COUNT') return 'integer';
      const inner = n.expression ? typeOf(n.expression) : 'other';
      if (['PROLLY_SUM', 'PROLLY_MIN', 'PROLLY_MAX', 'SUM', 'MIN', 'MAX'].includes(id)) return inner;
      return id === 'AVG' ? 'real' : 'other';
    }
    if (n instanceof yy.Convert) {
      const t = String(n.dbtypeid ?? '').toUpperCase();
      return /INT/.test(t) ? 'integer' : /REAL|FLOAT|DOUBLE|NUMERIC|DECIMAL/.test(t) ? 'real' : 'other';
    }
    if (n instanceof yy.FuncValue) {
      const f = String(n.funcid).toUpperCase();
      if (f === 'LENGTH' || f === 'INSTR') return 'integer';
      if (f === 'ABS' && n.args?.length === 1) return typeOf(n.args[0]);
      return 'other';
    }
    return 'other';
  };
  // Visit every node so nested divisions get marked, then return the root's type.
  let rootType: InferredType = 'other';
  const visitAll = (n: Any): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visitAll);
      return;
    }
    if (n instanceof yy.Select || n instanceof yy.WithSelect) return;
    if (n instanceof yy.Op || n instanceof yy.UniOp) typeOf(n);
    for (const k of Object.keys(n)) {
      if (k === 'queries' || k === 'queriesfn') continue;
      const v = n[k];
      if (v && typeof v === 'object') visitAll(v);
    }
  };
  visitAll(expr);
  if (expr && typeof expr === 'object' && !Array.isArray(expr)) rootType = typeOf(expr);
  return rootType;
}

/**
 * Mark number literals written with a decimal point or exponent as real (alasql keeps only the value,
 * so `2.0` and `2` would look the same to the integer-division analysis).
 * @example markRealLiterals(ast, new Set([2]))
 */
export function markRealLiterals(ast: Any, integralReals: ReadonlySet<number>): void {
  if (integralReals.size === 0) return;
  const seen = new Set<Any>();
  const visit = (n: Any) => {
    if (n === null || typeof n !== 'object' || seen.has(n)) return;
    seen.add(n);
    if (n instanceof yy.NumValue && integralReals.has(n.value)) n.prollyReal = true;
    for (const k of Object.keys(n)) if (k !== 'queriesfn') visit(n[k]);
  };
  visit(ast);
}
