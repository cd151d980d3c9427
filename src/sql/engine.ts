/**
 * SqlSession: runs SQL over tables stored as prolly trees. alasql evaluates the queries; this module
 * decides what each query reads (the access plans of src/sql/planner.ts), loads exactly those rows into
 * private in-memory tables, and turns INSERT / UPDATE / DELETE into one batch of tree edits per
 * statement, applied only when every row passed every check — so a failed statement changes nothing.
 *
 * Statements run in autocommit mode (each write replaces the table's state in the store) or inside
 * BEGIN … COMMIT / ROLLBACK, where changes stay in the session until COMMIT. "Commit" here is SQL's: it
 * writes the working dataset; `git prolly commit` records it in git.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import type { NodeStore } from '../tree/node-store.js';
import { ProllyTree, type Edit } from '../tree/prolly-tree.js';
import { compareBytes, equalBytes, toHex } from '../util/bytes.js';
import { alasql, createDatabase, executeAst, isAlasqlKeyword, parseStatement, yy, type AlasqlDatabase, type Any } from './alasql-runtime.js';
import { collectRefs, markRealLiterals, normalizeScopes, resolveColumn, unwrap, type TableRef } from './analyze.js';
import { parseDdl, parseLiteralInsert, schemaOf, type DdlCommand, type LiteralInsert } from './ddl.js';
import { buildIndexTree, checkUniqueTree, indexEditsForRow, indexFingerprint, indexKeyTypes, indexPrefixKeys, indexTreeFor, type IndexSource } from './indexes.js';
import { decodeKey, encodeKey, type KeyInput } from './key-codec.js';
import { isTrivia, rewriteStatement, splitStatements, syntaxError, type StatementText, type Token } from './lexer.js';
import { conjuncts, planCandidates, pickPlan, pushablePredicates, type AccessKind, type AccessPlan, type Predicate } from './planner.js';
import { encodeTableRow } from './row-codec.js';
import {
  addColumn,
  addIndex,
  coerceRow,
  defineTable,
  dropColumn,
  dropIndex,
  findColumn,
  findIndex,
  keyColumns,
  renameColumn,
  renameTable,
  ROWID_COLUMN,
  sameName,
  type IndexSchema,
  type TableSchema,
} from './schema.js';
import { branchRows, diffRows, logRows, tableRows, type SystemRows } from './system-tables.js';
import { countRange, TableHandle } from './table.js';
import { readOnly, type RevisionSource, type TableState, type TableStore } from './table-store.js';
import type { SqlValue } from './types.js';
import { toOutputValue, toSqlInput, type EngineRow } from './values.js';
import { toTreeValue } from '../dataset/values.js';
import { INLINE_VALUE_MAX } from '../blob/blob-ref.js';

/** How one table reference was read (EXPLAIN rows; `plan` of every result). */
export interface TablePlan {
  table: string;
  alias: string;
  /** 'working', or the revision read. */
  revision: string;
  access: AccessKind | 'system';
  /** Index used, for index access. */
  index?: string;
  /** How the index tree was found: from the cache, caught up by a diff, or built now. */
  indexSource?: IndexSource;
  /** The key condition the ranges come from. */
  condition: string;
  /** Key ranges read (point reads count one each). */
  ranges: number;
  /** Rows the ranges hold, from the trees' subtree counts (before the rest of the WHERE). */
  estimatedRows?: number;
  /** Rows actually decoded (after the statement ran). */
  rowsRead?: number;
}

/** The result of one statement. */
export type StatementResult =
  | { kind: 'rows'; sql: string; columns: string[]; rows: SqlValue[][]; plan: TablePlan[]; nodeReads: number }
  | { kind: 'changes'; sql: string; command: 'INSERT' | 'UPDATE' | 'DELETE'; changes: number; plan: TablePlan[]; nodeReads: number }
  | { kind: 'ok'; sql: string; command: string; message: string };

/** Options of {@link SqlSession}. */
export interface SqlSessionOptions {
  /** The working tables. */
  store: TableStore;
  /** Other revisions (time travel, diffs, log); absent outside git. */
  revisions?: RevisionSource;
  /** Read every table as of this revision (the whole session is then read-only). */
  at?: string;
}

/** Positional (`?`) or named (`$name`, `:name`) parameters. */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** Rows at most an earlier table may yield to narrow a joined table by key (semi-join push-down). */
const SEMI_JOIN_MAX_VALUES = 10_000;

/**
 * A SQL session over a TableStore.
 * @example
 * const session = new SqlSession({ store: new MemoryTableStore() });
 * await session.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
 * await session.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
 * const r = await session.query('SELECT name FROM t WHERE id = ?', [2]); // r.rows → [['b']]
 */
export class SqlSession {
  private readonly options: SqlSessionOptions;
  private readonly database: AlasqlDatabase;
  /** Table changes of the open transaction (null: dropped), by stored name. */
  private txn: Map<string, TableState | null> | undefined;
  private atStore: TableStore | undefined;
  private closed = false;

  constructor(options: SqlSessionOptions) {
    this.options = options;
    this.database = createDatabase();
  }

  /** True inside BEGIN … COMMIT / ROLLBACK. */
  get inTransaction(): boolean {
    return this.txn !== undefined;
  }

  /**
   * Run a script (statements separated by `;`). Stops at the first failing statement, whose error is
   * thrown; the statements before it keep their effects (as in the sqlite3 shell).
   * @example const results = await session.execute('SELECT 1; SELECT 2')
   */
  async execute(sql: string, params?: SqlParams): Promise<StatementResult[]> {
    const out: StatementResult[] = [];
    for await (const r of this.statements(sql, params)) out.push(r);
    return out;
  }

  /**
   * Run a script statement by statement, yielding each result as soon as it is ready (a failing
   * statement throws after the earlier results were yielded).
   * @example for await (const r of session.statements(script)) print(r)
   */
  async *statements(sql: string, params?: SqlParams): AsyncGenerator<StatementResult> {
    for (const st of splitStatements(sql)) yield await this.run(st, params);
  }

  /**
   * Run one statement and return its result (rows for a query).
   * @example (await session.query('SELECT COUNT(*) AS n FROM t')).rows[0][0]
   */
  async query(sql: string, params?: SqlParams): Promise<StatementResult & { kind: 'rows' | 'changes' | 'ok' }> {
    const statements = splitStatements(sql);
    if (statements.length !== 1) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `query() takes exactly one statement, got ${statements.length} (use execute() for scripts)`, {});
    return this.run(statements[0]!, params);
  }

  /**
   * End the session; an open transaction is rolled back (its changes are discarded).
   * @returns true when a transaction was rolled back
   */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    const hadTxn = this.txn !== undefined;
    this.txn = undefined;
    this.database.dispose();
    return hadTxn;
  }

  /** Names of the tables in the session's view (working state with uncommitted changes, or --at). */
  async tableNames(): Promise<string[]> {
    const store = await this.defaultStore();
    const names = new Set(await store.listTables());
    if (store === this.options.store && this.txn) {
      for (const [name, state] of this.txn) {
        if (state === null) names.delete(name);
        else names.add(name);
      }
    }
    return [...names].sort();
  }

  /** A table's state in the session's view, by name (case-insensitive). */
  async table(name: string): Promise<TableState | undefined> {
    const store = await this.defaultStore();
    const found = await this.lookup(store, name);
    return found?.state;
  }

  // ------------------------------------------------------------------------------------------------

  private async defaultStore(): Promise<TableStore> {
    if (this.options.at === undefined) return this.options.store;
    if (!this.atStore) {
      if (!this.options.revisions) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, '--at needs a git repository', {});
      this.atStore = await this.options.revisions.tablesAt(this.options.at);
    }
    return this.atStore;
  }

  /** The state of a table in a store, seen through the transaction when it is the working store. */
  private async lookup(store: TableStore, name: string): Promise<{ stored: string; state: TableState } | undefined> {
    const working = store === this.options.store && this.txn;
    if (working) {
      for (const [stored, state] of this.txn!) {
        if (sameName(stored, name)) {
          if (state === null) continue;
          return { stored, state };
        }
      }
    }
    const names = await store.listTables();
    const candidates = names.filter((n) => sameName(n, name) && !(working && this.txn!.has(n)));
    const stored = candidates.find((n) => n === name) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (stored === undefined) {
      if (await store.hasDataset(name)) await store.getTable(name); // throws "not a table"
      return undefined;
    }
    const state = await store.getTable(stored);
    return state ? { stored, state } : undefined;
  }

  private async requireTable(store: TableStore, name: string): Promise<{ stored: string; state: TableState }> {
    const found = await this.lookup(store, name);
    if (found) return found;
    const names = store === this.options.store ? await this.tableNames() : await store.listTables();
    throw new ProllyError(ErrorCodes.SQL_NAME, `no such table: ${name}${store.label !== 'working' ? ` at ${store.label}` : ''}${names.length > 0 ? ` (tables: ${names.slice(0, 20).join(', ')})` : ''}`, { table: name, revision: store.label });
  }

  private async run(st: StatementText, params: SqlParams | undefined): Promise<StatementResult> {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, 'SQL session is closed', {});
    const kw = st.keyword;
    const sql = st.text.trim();
    const second = () => st.tokens.filter((t) => !isTrivia(t))[1]?.text.toUpperCase();
    if (kw === 'BEGIN' || (kw === 'START' && second() === 'TRANSACTION')) {
      if (this.txn) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, 'cannot BEGIN: a transaction is already open (COMMIT or ROLLBACK it first)', {});
      await this.checkWritable();
      this.txn = new Map();
      return { kind: 'ok', sql, command: 'BEGIN', message: 'transaction started' };
    }
    if (kw === 'COMMIT' || kw === 'END') {
      if (!this.txn) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, 'cannot COMMIT: no transaction is open', {});
      const changes = this.txn;
      if (changes.size > 0) {
        await this.options.store.beginWrite();
        await this.options.store.writeTables(changes);
        await this.options.store.indexRoots.save?.();
      }
      this.txn = undefined;
      return { kind: 'ok', sql, command: 'COMMIT', message: `committed changes to ${changes.size} table${changes.size === 1 ? '' : 's'}` };
    }
    if (kw === 'ROLLBACK') {
      if (!this.txn) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, 'cannot ROLLBACK: no transaction is open', {});
      this.txn = undefined;
      return { kind: 'ok', sql, command: 'ROLLBACK', message: 'transaction rolled back' };
    }
    if (kw === 'CREATE' || kw === 'DROP' || kw === 'ALTER') {
      const ddl = parseDdl(st);
      if (!ddl) throw syntaxError(`unsupported ${kw} statement (supported: CREATE/DROP TABLE, ALTER TABLE, CREATE/DROP INDEX)`, st.tokens.find((t) => !isTrivia(t))!, kw);
      return this.runDdl(ddl, sql);
    }
    if (kw === 'INSERT' || kw === 'REPLACE') {
      // Large literal VALUES lists skip alasql's parser (slow on them) and even the tokenizer.
      const literal = parseLiteralInsert(st, params);
      if (literal) return this.runInsert(undefined, sql, params, false, literal);
    }
    let explain = false;
    let tokens = st.tokens;
    if (kw === 'EXPLAIN') {
      explain = true;
      const meaningful = tokens.filter((t) => !isTrivia(t));
      let skip = 1;
      if (meaningful[1]?.text.toUpperCase() === 'QUERY' && meaningful[2]?.text.toUpperCase() === 'PLAN') skip = 3;
      const from = tokens.indexOf(meaningful[skip]!);
      if (from < 0) throw syntaxError('EXPLAIN needs a statement', meaningful[0]!, 'EXPLAIN');
      tokens = tokens.slice(from);
    }
    const ast = this.parse(st, tokens, await this.keywordIdentifiers());
    if (ast instanceof yy.Select || ast instanceof yy.WithSelect) return this.runSelect(ast, sql, params, explain);
    if (ast instanceof yy.Insert) return this.runInsert(ast, sql, params, explain);
    if (ast instanceof yy.Update || ast instanceof yy.Delete) return this.runUpdateDelete(ast, sql, params, explain);
    throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `statement not supported: ${sql.slice(0, 60)} (supported: SELECT, INSERT, UPDATE, DELETE, CREATE/DROP/ALTER TABLE, CREATE/DROP INDEX, BEGIN, COMMIT, ROLLBACK, EXPLAIN)`, {});
  }

  private parse(st: StatementText, tokens: readonly Token[], keywords: ReadonlySet<string>): Any {
    // Comments become spaces (alasql strips them itself, which would shift its error positions), and
    // x'…' blob literals become PROLLY_BYTES('…') calls (alasql reads them as text).
    const prepared: Token[] = tokens.map((t) => {
      if (t.kind === 'comment') return { ...t, kind: 'space', text: t.text.replace(/[^\n]/g, ' ') };
      if (t.kind === 'string' && /^x'/i.test(t.text)) return { ...t, kind: 'word', text: `PROLLY_BYTES(${t.text.slice(1)})` };
      return t;
    });
    const rewritten = rewriteStatement(prepared, { quoteWord: (w) => keywords.has(w.toLowerCase()) });
    const base = tokens[0]!;
    const original = tokens.map((t) => t.text).join('');
    const ast = parseStatement(rewritten.text, { original, start: { offset: base.offset, line: base.line, column: base.column }, originalOffset: rewritten.originalOffset });
    // `2.0` and `2` parse to the same NumValue; remember which integral literals were written as reals.
    const reals = new Set<number>();
    for (const t of tokens) if (t.kind === 'number' && /[.eE]/.test(t.text) && !/^0x/i.test(t.text) && Number.isInteger(Number(t.text))) reals.add(Number(t.text));
    markRealLiterals(ast, reals);
    void st;
    return ast;
  }

  /** Table and column names that alasql would read as keywords (VALUE, DATE, KEY…): quoted before parsing. */
  private async keywordIdentifiers(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const c of SYSTEM_COLUMNS) if (isAlasqlKeyword(c)) out.add(c);
    const store = await this.defaultStore();
    for (const name of await this.tableNames()) {
      if (isAlasqlKeyword(name)) out.add(name.toLowerCase());
      const pending = store === this.options.store ? this.txn?.get(name) : undefined;
      const state = pending ?? (await store.getTable(name));
      for (const c of state?.schema.columns ?? []) if (isAlasqlKeyword(c.name)) out.add(c.name.toLowerCase());
    }
    return out;
  }

  private async checkWritable(): Promise<void> {
    if (this.options.at !== undefined) throw readOnly(this.options.at);
    if (!this.options.store.writable) throw readOnly(this.options.store.label);
  }

  // ------------------------------------------------------------------------------------------------
  // Reading

  /** Everything a statement reads, resolved: stores, states, handles, plans, rows. */
  private async prepareRefs(refs: TableRef[], params: Any, ctx: StatementContext): Promise<void> {
    for (const ref of refs) {
      if (ref.kind === 'table') {
        const store = ref.rev !== undefined ? await ctx.revisionStore(ref.rev) : await this.defaultStore();
        const { stored, state } = await this.requireTable(store, ref.name);
        ctx.track(await store.nodes());
        ref.schema = state.schema;
        ctx.tables.set(ref, { store, stored, state });
      } else if (ref.kind === 'system') {
        const rows = await this.systemRows(ref);
        ref.columns = rows.columns;
        ctx.system.set(ref, rows);
      } else if (ref.kind === 'diff') {
        const rows = await this.diffTable(ref, params, ctx);
        ref.columns = rows.columns;
        ctx.system.set(ref, rows);
      }
    }
  }

  private async systemRows(ref: TableRef): Promise<SystemRows> {
    switch (ref.name) {
      case 'prolly_log':
        return logRows(this.options.revisions);
      case 'prolly_branches':
        return branchRows(this.options.revisions);
      default:
        return tableRows(await this.tableNames(), (n) => this.table(n));
    }
  }

  private async diffTable(ref: TableRef, params: Any, ctx: StatementContext): Promise<SystemRows> {
    const args = (ref.args ?? []).map((a: Any) => {
      if (a instanceof yy.StringValue) return String(a.value);
      if (a instanceof yy.ParamValue && typeof params?.[a.param] === 'string') return String(params[a.param]);
      throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, "prolly_diff takes text arguments: prolly_diff('table', 'from_rev' [, 'to_rev'])", {});
    });
    if (args.length < 2 || args.length > 3) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, "prolly_diff takes 2 or 3 arguments: prolly_diff('table', 'from_rev' [, 'to_rev']) (to_rev defaults to the working state)", {});
    const [table, fromRev, toRev] = args as [string, string, string | undefined];
    const storeFor = async (rev: string | undefined) => (rev === undefined || rev.toUpperCase() === 'WORKING' ? await this.defaultStore() : await ctx.revisionStore(rev));
    const fromStore = await storeFor(fromRev);
    const toStore = await storeFor(toRev);
    const from = (await this.lookup(fromStore, table))?.state;
    const to = (await this.lookup(toStore, table))?.state;
    return diffRows({ table, from, to, fromStore, toStore });
  }

  /** Open handles, choose access plans and load the rows of every reference into the database. */
  private async loadRefs(refs: TableRef[], params: Any, ctx: StatementContext, options: { explain: boolean; allowIndexBuild: boolean }): Promise<TablePlan[]> {
    const plans: TablePlan[] = [];
    // A usable index missing from the cache is built (or caught up) under the write lock. Take it before
    // any tree is opened: taking it reopens the repository's store, and trees opened before would read
    // from the closed one.
    if (options.allowIndexBuild) {
      outer: for (const ref of refs) {
        const t = ctx.tables.get(ref);
        if (!t || t.store !== this.options.store || !t.state.schema.indexes) continue;
        for (const c of planCandidates(t.state.schema, pushablePredicates(ref, params))) {
          if (c.index && !t.store.indexRoots.get(indexFingerprint(t.state.schema, c.index), t.state.root)) {
            await ctx.ensureWritable(t.store);
            break outer;
          }
        }
      }
    }
    for (const ref of refs) {
      const t = ctx.tables.get(ref);
      if (!t) continue;
      const handle = await TableHandle.open(await t.store.nodes(), t.stored, t.state);
      ctx.handles.set(ref, handle);
    }
    const loadedRows = new Map<TableRef, EngineRow[]>();
    for (const ref of refs) {
      if (ref.kind === 'system' || ref.kind === 'diff') {
        const rows = ctx.system.get(ref)!;
        this.database.setTable(ref.internal, rows.columns, rows.rows);
        loadedRows.set(ref, rows.rows);
        plans.push({ table: ref.name, alias: ref.alias, revision: 'working', access: 'system', condition: '', ranges: 0, rowsRead: rows.rows.length });
        continue;
      }
      const handle = ctx.handles.get(ref);
      if (!handle) continue;
      const t = ctx.tables.get(ref)!;
      let preds = pushablePredicates(ref, params);
      let chosen = await this.choose(handle, preds, t.store, ctx, options.allowIndexBuild && t.store === this.options.store);
      if (chosen.plan.kind === 'full-scan' && !options.explain) {
        const semi = this.semiJoinPredicates(ref, loadedRows);
        if (semi) {
          preds = [...preds, semi];
          const alt = await this.choose(handle, preds, t.store, ctx, options.allowIndexBuild && t.store === this.options.store);
          if (alt.plan.kind !== 'full-scan') chosen = alt;
        }
      }
      const info: TablePlan = {
        table: handle.name,
        alias: ref.alias,
        revision: t.store.label,
        access: chosen.plan.kind,
        ...(chosen.plan.index ? { index: chosen.plan.index.name, indexSource: chosen.indexSource } : {}),
        condition: chosen.plan.detail,
        ranges: chosen.plan.ranges.length,
        ...(chosen.estimate !== undefined ? { estimatedRows: chosen.estimate } : {}),
      };
      plans.push(info);
      if (options.explain) continue;
      const before = handle.rowsRead;
      const rows = await this.readRows(handle, chosen.plan, chosen.indexTree, ctx.snapshots, ref.target === true);
      info.rowsRead = handle.rowsRead - before;
      loadedRows.set(ref, rows);
      const columns = handle.schema.columns.map((c) => c.name);
      const hidden = [...(handle.keys.hidden ? [ROWID_COLUMN] : []), ...(ref.target ? [ROW_INDEX] : [])];
      this.database.setTable(ref.internal, columns, rows, hidden);
    }
    return plans;
  }

  /** Candidate plans, index trees where usable, row estimates, and the pick. */
  private async choose(handle: TableHandle, preds: Predicate[], store: TableStore, ctx: StatementContext, mayBuild: boolean): Promise<{ plan: AccessPlan; estimate?: number; indexTree?: ProllyTree; indexSource?: IndexSource }> {
    const candidates = planCandidates(handle.schema, preds);
    if (candidates.length === 1) {
      return { plan: candidates[0]!, estimate: candidates[0]!.kind === 'full-scan' ? handle.tree.count : 0 };
    }
    const usable: AccessPlan[] = [];
    const trees: (ProllyTree | undefined)[] = [];
    const sources: (IndexSource | undefined)[] = [];
    for (const c of candidates) {
      if (!c.index) {
        usable.push(c);
        trees.push(undefined);
        sources.push(undefined);
        continue;
      }
      // Only when the lock was taken before the trees were opened (see loadRefs).
      const writable = mayBuild && ctx.isWriting && store === this.options.store;
      const found = await indexTreeFor({ table: handle, index: c.index, cache: store.indexRoots, writable });
      if (!found) continue;
      usable.push(c);
      trees.push(found.tree);
      sources.push(found.source);
    }
    const estimates: (number | undefined)[] = [];
    for (let i = 0; i < usable.length; i++) {
      const c = usable[i]!;
      if (c.kind === 'full-scan') estimates.push(handle.tree.count);
      else if (c.kind === 'pk-point') estimates.push(c.ranges.length);
      else if (c.ranges.length > 16) estimates.push(undefined);
      else {
        const tree = trees[i] ?? handle.tree;
        let n = 0;
        for (const r of c.ranges) n += await countRange(tree, r);
        estimates.push(n);
      }
    }
    const { plan, estimate } = pickPlan(usable, estimates);
    const k = usable.indexOf(plan);
    return { plan, estimate, indexTree: trees[k], indexSource: sources[k] };
  }

  /**
   * For a table joined ON its column = an earlier table's column: the earlier table's loaded values as
   * an IN list (so the joined table is read by key instead of whole).
   */
  private semiJoinPredicates(ref: TableRef, loaded: Map<TableRef, EngineRow[]>): Predicate | undefined {
    if (!ref.join || (ref.join.mode !== 'INNER' && ref.join.mode !== 'LEFT') || !ref.join.on) return undefined;
    for (const c of conjuncts(ref.join.on)) {
      if (!(c instanceof yy.Op) || c.op !== '=' || !(c.left instanceof yy.Column) || !(c.right instanceof yy.Column)) continue;
      const l = resolveColumn(ref.scope, c.left);
      const r = resolveColumn(ref.scope, c.right);
      if (!l || !r) continue;
      const [mine, other] = l.ref === ref ? [l, r] : r.ref === ref ? [r, l] : [undefined, undefined];
      if (!mine || !other || other.ref === ref || other.ref.id > ref.id) continue;
      const rows = loaded.get(other.ref);
      if (!rows || rows.length > SEMI_JOIN_MAX_VALUES) continue;
      const values = new Set<unknown>();
      for (const row of rows) {
        const v = row[other.column.name];
        if (v !== undefined && v !== null) values.add(v);
      }
      return { column: mine.column.name, op: 'IN', values: [...values], text: `${mine.column.name} IN (${values.size} values of ${other.ref.alias}.${other.column.name})` };
    }
    return undefined;
  }

  /** Read the rows an access plan selects. */
  private async readRows(handle: TableHandle, plan: AccessPlan, indexTree: ProllyTree | undefined, snapshots: Map<EngineRow, Snapshot>, target: boolean): Promise<EngineRow[]> {
    const rows: EngineRow[] = [];
    const keep = (key: Uint8Array, row: EngineRow) => {
      if (target) snapshots.set(row, { key: Uint8Array.from(key), row: { ...row } });
      rows.push(row);
    };
    switch (plan.kind) {
      case 'empty':
        return rows;
      case 'full-scan':
        if (target) await handle.scan(null, keep);
        else await handle.scanRows(null, (row) => rows.push(row));
        return rows;
      case 'pk-point': {
        for (const { key, row } of await handle.getMany(plan.ranges.map((r) => r.start))) keep(key, row);
        return rows;
      }
      case 'pk-range':
        if (target) await handle.scan(plan.ranges, keep);
        else await handle.scanRows(plan.ranges, (row) => rows.push(row));
        return rows;
      case 'index-point':
      case 'index-range': {
        const index = plan.index!;
        const types = indexKeyTypes(handle.schema, index);
        const n = index.columns.length;
        const pkTypes = handle.keys.types;
        const keys: Uint8Array[] = [];
        for (const r of plan.ranges) {
          for await (const [k] of indexTree!.range({ gte: r.start, ...(r.end ? { lt: r.end } : {}) })) {
            keys.push(encodeKey(decodeKey(k, types).slice(n) as KeyInput[], pkTypes));
          }
        }
        for (let i = 0; i < keys.length; i += 4096) {
          for (const { key, row } of await handle.getMany(keys.slice(i, i + 4096))) keep(key, row);
        }
        return rows;
      }
    }
  }

  private async runSelect(ast: Any, sql: string, params: SqlParams | undefined, explain: boolean): Promise<StatementResult> {
    const ctx = new StatementContext(this);
    try {
      const analysis = collectRefs(ast);
      await this.prepareRefs(analysis.refs, params, ctx);
      normalizeScopes(analysis, params);
      const before = ctx.nodeReads();
      const plan = await this.loadRefs(analysis.refs, params, ctx, { explain, allowIndexBuild: true });
      if (explain) return explainResult(sql, plan);
      const select = ast instanceof yy.WithSelect ? ast.select : ast;
      select.modifier = 'RECORDSET';
      const result = executeAst(this.database, ast, params);
      await ctx.finish();
      return { kind: 'rows', sql, ...recordsetRows(result), plan, nodeReads: ctx.nodeReads() - before };
    } finally {
      this.database.clear();
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Writing

  private async runInsert(ast: Any, sql: string, params: SqlParams | undefined, explain: boolean, literal?: LiteralInsert): Promise<StatementResult> {
    const ctx = new StatementContext(this);
    try {
      const targetName = literal ? literal.table : String(ast.into.tableid);
      if (targetName.includes('@')) throw readOnly(targetName.slice(targetName.indexOf('@') + 1));
      await this.checkWritable();
      await ctx.ensureWritable(this.options.store, true);
      const { stored, state } = await this.requireTable(this.options.store, targetName);
      const schema = state.schema;
      const analysis = literal ? { refs: [], scopes: [] } : collectRefs(ast);
      await this.prepareRefs(analysis.refs, params, ctx);
      normalizeScopes(analysis, params);
      const before = ctx.nodeReads();
      const plan = await this.loadRefs(analysis.refs, params, ctx, { explain, allowIndexBuild: true });
      plan.unshift({ table: stored, alias: stored, revision: 'working', access: 'pk-point', condition: 'inserted keys', ranges: 0 });
      if (explain) return explainResult(sql, plan);
      const hidden = schema.primaryKey.length === 0;
      const allColumns = schema.columns.map((c) => c.name);
      let columns: string[] = literal ? (literal.columns ?? allColumns) : ast.columns ? ast.columns.map((c: Any) => String(c.columnid)) : allColumns;
      columns = columns.map((name) => {
        if (hidden && sameName(name, ROWID_COLUMN)) return ROWID_COLUMN;
        const col = findColumn(schema, name);
        if (!col) throw new ProllyError(ErrorCodes.SQL_NAME, `table ${JSON.stringify(stored)} has no column ${JSON.stringify(name)}`, { table: stored, column: name });
        return col.name;
      });
      const dup = columns.find((c, i) => columns.indexOf(c) !== i);
      if (dup) throw new ProllyError(ErrorCodes.SQL_NAME, `column ${JSON.stringify(dup)} appears twice in the INSERT`, { table: stored, column: dup });
      // The values, as engine values, one array per row.
      let tuples: unknown[][];
      const defaults = !literal && Boolean(ast.default);
      if (literal) tuples = literal.rows;
      else if (defaults) tuples = [[]];
      else if (ast.select) {
        const select = ast.select instanceof yy.WithSelect ? ast.select.select : ast.select;
        select.modifier = 'RECORDSET';
        const r = recordsetRows(executeAst(this.database, ast.select, params), false);
        tuples = r.rows;
      } else tuples = (ast.values as Any[][]).map((row, i) => this.evaluateTuple(row, params, i + 1));
      const inputs = tuples.map((tuple, i) => {
        if (!defaults && tuple.length !== columns.length) {
          throw new ProllyError(ErrorCodes.SQL_VALUE, `table ${JSON.stringify(stored)}: row ${i + 1} of the INSERT has ${tuple.length} values for ${columns.length} columns (${columns.join(', ')})`, { table: stored, row: i + 1 });
        }
        const obj: Record<string, unknown> = {};
        if (!defaults) columns.forEach((c, k) => (obj[c] = toSqlInput(tuple[k])));
        return obj;
      });
      const handle = await TableHandle.open(await this.options.store.nodes(), stored, state);
      const changes = await this.insertRows(handle, inputs, { replace: literal ? literal.orReplace : Boolean(ast.orreplace) });
      const next = await this.applyChanges(handle, changes, ctx);
      await this.commitStatement(stored, next);
      await ctx.finish();
      return { kind: 'changes', sql, command: 'INSERT', changes: changes.length, plan, nodeReads: ctx.nodeReads() - before };
    } finally {
      this.database.clear();
    }
  }

  /** Evaluate one VALUES tuple (constants and expressions without table references). */
  private evaluateTuple(row: Any[], params: Any, n: number): unknown[] {
    return row.map((e) => {
      if (e instanceof yy.NumValue || e instanceof yy.StringValue || e instanceof yy.LogicValue) return e.value;
      if (e instanceof yy.NullValue) return undefined;
      if (e instanceof yy.ParamValue) return params?.[e.param];
      let js: string;
      try {
        js = e.toJS('p', '', null);
      } catch (err) {
        throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `row ${n} of the VALUES: cannot evaluate ${String(e)} (${(err as Error).message}); use INSERT … SELECT for values computed from tables`, { row: n });
      }
      try {
        // eslint-disable-next-line @typescript-eslint/no-implied-eval
        return new Function('p,params,alasql', `var y; return ${js}`)({}, params ?? [], alasql);
      } catch (err) {
        throw new ProllyError(ErrorCodes.SQL_VALUE, `row ${n} of the VALUES: ${String(e)} failed: ${(err as Error).message}`, { row: n });
      }
    });
  }

  private async runUpdateDelete(ast: Any, sql: string, params: SqlParams | undefined, explain: boolean): Promise<StatementResult> {
    const ctx = new StatementContext(this);
    const command = ast instanceof yy.Update ? 'UPDATE' : 'DELETE';
    try {
      await this.checkWritable();
      await ctx.ensureWritable(this.options.store, true);
      const analysis = collectRefs(ast);
      const target = analysis.refs.find((r) => r.target)!;
      await this.prepareRefs(analysis.refs, params, ctx);
      normalizeScopes(analysis, params);
      const before = ctx.nodeReads();
      const plan = await this.loadRefs(analysis.refs, params, ctx, { explain, allowIndexBuild: true });
      if (explain) return explainResult(sql, plan);
      const handle = ctx.handles.get(target)!;
      const candidates = this.database.db.tables[target.internal].data as EngineRow[];
      // Evaluate WHERE and SET as a SELECT over the candidate rows (alasql's own UPDATE cannot run
      // subqueries): which rows match, and their new values.
      candidates.forEach((row, i) => (row[ROW_INDEX] = i));
      const sets: Any[] = command === 'UPDATE' ? ast.columns : [];
      const select = new yy.Select({
        columns: [new yy.Column({ columnid: ROW_INDEX }), ...sets.map((c: Any, i: number) => Object.assign(c.expression, { as: `${SET_PREFIX}${i}` }))],
        from: [new yy.Table({ tableid: target.internal, as: target.alias })],
        ...(ast.where ? { where: new yy.Expression({ expression: unwrap(ast.where) }) } : {}),
      });
      select.modifier = 'RECORDSET';
      if (ast.queries) select.queries = ast.queries; // subqueries the parser registered (IN (SELECT …))
      const matched = executeAst(this.database, select, params).data as EngineRow[];
      const changes: RowChange[] = [];
      const schema = handle.schema;
      const names = [...(schema.primaryKey.length === 0 ? [ROWID_COLUMN] : []), ...schema.columns.map((c) => c.name)];
      for (const m of matched) {
        const snap = ctx.snapshots.get(candidates[m[ROW_INDEX] as number]!)!;
        if (command === 'DELETE') {
          changes.push({ before: snap.row, beforeKey: snap.key });
          continue;
        }
        const next: EngineRow = { ...snap.row };
        sets.forEach((c: Any, i: number) => (next[String(c.column.columnid)] = m[`${SET_PREFIX}${i}`]));
        if (names.every((n) => sameEngineValue(next[n], snap.row[n]))) continue;
        const input: Record<string, unknown> = {};
        for (const n of names) input[n] = toSqlInput(next[n]);
        changes.push({ before: snap.row, beforeKey: snap.key, input, where: describeKey(handle, snap.key) });
      }
      const next = await this.applyChanges(handle, changes, ctx);
      await this.commitStatement(handle.name, next);
      await ctx.finish();
      return { kind: 'changes', sql, command, changes: changes.length, plan, nodeReads: ctx.nodeReads() - before };
    } finally {
      this.database.clear();
    }
  }

  /** Row changes for INSERT: coerced rows with their keys, duplicate keys refused (or replaced). */
  private async insertRows(handle: TableHandle, inputs: Record<string, unknown>[], options: { replace: boolean }): Promise<RowChange[]> {
    const schema = handle.schema;
    const hidden = schema.primaryKey.length === 0;
    let nextRowid = 1;
    if (hidden) {
      const last = await handle.lastKey();
      if (last) nextRowid = Number(decodeKey(last, ['integer'])[0]) + 1;
    }
    const changes: RowChange[] = inputs.map((input, i) => {
      if (hidden && (input[ROWID_COLUMN] === undefined || input[ROWID_COLUMN] === null)) input[ROWID_COLUMN] = nextRowid++;
      else if (hidden) nextRowid = Math.max(nextRowid, Number(input[ROWID_COLUMN]) + 1);
      return { input, row: i + 1 };
    });
    return options.replace ? changes.map((c) => ({ ...c, replace: true })) : changes;
  }

  /**
   * Turn row changes into one batch of tree edits for the table and its indexes, checking every
   * constraint first; returns the new state. Nothing is stored here.
   */
  private async applyChanges(handle: TableHandle, changes: RowChange[], ctx: StatementContext): Promise<TableState> {
    const schema = handle.schema;
    const table = handle.name;
    const chunks = handle.chunks;
    // 1. Coerce and encode every new row (type, NOT NULL, unknown columns) — errors name the row.
    const removedKeys = new Set<string>();
    for (const c of changes) if (c.beforeKey) removedKeys.add(keyId(c.beforeKey));
    const newKeys = new Map<string, RowChange>();
    for (const c of changes) {
      if (!c.input) continue;
      const context = { table, row: c.row ?? c.where };
      const row = coerceRow(schema, c.input, context);
      const { key, value } = encodeTableRow(schema, row);
      c.after = row;
      c.afterKey = key;
      c.afterValue = value.length <= INLINE_VALUE_MAX ? value : await toTreeValue(chunks, value);
      const hex = keyId(key);
      const clash = newKeys.get(hex);
      if (clash && !c.replace) throw duplicateKey(handle, key, c, clash);
      newKeys.set(hex, c);
    }
    // 2. Keys that already exist in the tree (and are not being removed by this statement).
    const probe = changes.filter((c) => c.afterKey && !(c.beforeKey && equalBytes(c.beforeKey, c.afterKey)) && !removedKeys.has(keyId(c.afterKey)));
    if (probe.length > 0) {
      const existing = await handle.tree.getMany(probe.map((c) => c.afterKey!));
      for (let i = 0; i < probe.length; i++) {
        if (existing[i] === undefined) continue;
        const c = probe[i]!;
        if (!c.replace) throw duplicateKey(handle, c.afterKey!, c);
        // INSERT OR REPLACE: the old row goes (its index entries too).
        c.before = await handle.decodeEntry(c.afterKey!, existing[i]!);
        c.beforeKey = c.afterKey;
      }
    }
    // 3. Edits of the row tree, in key order; removals first so a key can move.
    const edits: Edit[] = [];
    for (const c of changes) if (c.beforeKey && !(c.afterKey && equalBytes(c.beforeKey, c.afterKey))) edits.push({ key: c.beforeKey, value: null });
    for (const c of changes) if (c.afterKey) edits.push({ key: c.afterKey, value: c.afterValue! });
    // Later edits of one key win in mutate(), so a key removed and re-added ends up present.
    const tree = edits.length > 0 ? await handle.tree.mutate(edits) : handle.tree;
    const state: TableState = { schema, root: tree.root, count: tree.count };
    // 4. Indexes: the same changes, checked for UNIQUE, then applied.
    for (const index of schema.indexes ?? []) {
      const found = await indexTreeFor({ table: handle, index, cache: ctx.indexCache(), writable: true });
      let ixTree = found!.tree;
      const ixEdits: Edit[] = [];
      for (const c of changes) ixEdits.push(...indexEditsForRow(schema, index, c.before, c.after));
      if (index.unique) await checkUnique(handle, index, ixTree, changes);
      if (ixEdits.length > 0) ixTree = await ixTree.mutate(ixEdits);
      ctx.indexCache().set(indexFingerprint(schema, index), state.root, ixTree.root);
    }
    return state;
  }

  /** Record a statement's new table state: in the transaction, or in the store (autocommit). */
  private async commitStatement(stored: string, state: TableState | null, also?: Map<string, TableState | null>): Promise<void> {
    const changes = new Map<string, TableState | null>(also ?? []);
    changes.set(stored, state);
    if (this.txn) {
      for (const [k, v] of changes) this.txn.set(k, v);
      return;
    }
    await this.options.store.writeTables(changes);
    await this.options.store.indexRoots.save?.();
  }

  // ------------------------------------------------------------------------------------------------
  // DDL

  private async runDdl(ddl: DdlCommand, sql: string): Promise<StatementResult> {
    await this.checkWritable();
    const store = this.options.store;
    const nodes = await store.beginWrite();
    const ok = (command: string, message: string): StatementResult => ({ kind: 'ok', sql, command, message });
    switch (ddl.kind) {
      case 'create-table': {
        const taken = (await store.hasDataset(ddl.table)) && !(this.txn?.has(ddl.table) && this.txn.get(ddl.table) === null); // dropped in this transaction: free
        const existing = taken ? { stored: ddl.table } : await this.lookup(store, ddl.table);
        if (existing) {
          if (ddl.ifNotExists) return ok('CREATE TABLE', `table ${ddl.table} already exists`);
          throw new ProllyError(ErrorCodes.SQL_NAME, `table ${existing.stored} already exists${taken && !(await store.listTables()).includes(ddl.table) ? ' (as a key-value dataset)' : ''}`, { table: ddl.table });
        }
        checkTableName(ddl.table);
        const schema = schemaOf(ddl, ddl.table);
        const empty = await ProllyTree.empty(nodes);
        await this.commitStatement(ddl.table, { schema, root: empty.root, count: 0 });
        return ok('CREATE TABLE', `created table ${ddl.table}`);
      }
      case 'drop-table': {
        const drops = new Map<string, null>();
        for (const name of ddl.tables) {
          const found = await this.lookup(store, name);
          if (!found) {
            if (ddl.ifExists) continue;
            await this.requireTable(store, name);
          }
          drops.set(found!.stored, null);
        }
        if (drops.size === 0) return ok('DROP TABLE', 'nothing to drop');
        const [first, ...rest] = [...drops.keys()];
        await this.commitStatement(first!, null, new Map(rest.map((n) => [n, null])));
        return ok('DROP TABLE', `dropped ${[...drops.keys()].join(', ')}`);
      }
      case 'add-column':
      case 'drop-column':
      case 'rename-column': {
        const { stored, state } = await this.requireTable(store, ddl.table);
        const schema =
          ddl.kind === 'add-column' ? addColumn(state.schema, ddl.column) : ddl.kind === 'drop-column' ? dropColumn(state.schema, ddl.column) : renameColumn(state.schema, { from: ddl.from, to: ddl.to });
        await this.commitStatement(stored, { ...state, schema });
        return ok('ALTER TABLE', `altered table ${stored}`);
      }
      case 'rename-table': {
        const { stored, state } = await this.requireTable(store, ddl.table);
        if ((await this.lookup(store, ddl.to)) || (await store.hasDataset(ddl.to))) throw new ProllyError(ErrorCodes.SQL_NAME, `table ${ddl.to} already exists`, { table: ddl.to });
        checkTableName(ddl.to);
        await this.commitStatement(ddl.to, { ...state, schema: renameTable(state.schema, ddl.to) }, new Map([[stored, null]]));
        return ok('ALTER TABLE', `renamed table ${stored} to ${ddl.to}`);
      }
      case 'create-index': {
        const { stored, state } = await this.requireTable(store, ddl.table);
        const clash = await this.findIndexAnywhere(ddl.index);
        if (clash) {
          if (ddl.ifNotExists) return ok('CREATE INDEX', `index ${ddl.index} already exists`);
          throw new ProllyError(ErrorCodes.SQL_NAME, `index ${ddl.index} already exists (on table ${clash.table})`, { index: ddl.index });
        }
        const schema = addIndex(state.schema, { name: ddl.index, columns: ddl.columns, unique: ddl.unique });
        const index = findIndex(schema, ddl.index)!;
        const next: TableState = { ...state, schema };
        const handle = await TableHandle.open(nodes, stored, next);
        const tree = await buildIndexTree(handle, index);
        if (index.unique) await checkUniqueTree(handle, index, tree);
        store.indexRoots.set(indexFingerprint(schema, index), state.root, tree.root);
        await this.commitStatement(stored, next);
        return ok('CREATE INDEX', `created index ${ddl.index} on ${stored} (${handle.tree.count} rows)`);
      }
      case 'drop-index': {
        const found = await this.findIndexAnywhere(ddl.index, ddl.table);
        if (!found) {
          if (ddl.ifExists) return ok('DROP INDEX', `no index ${ddl.index}`);
          throw new ProllyError(ErrorCodes.SQL_NAME, `no such index: ${ddl.index}`, { index: ddl.index });
        }
        await this.commitStatement(found.table, { ...found.state, schema: dropIndex(found.state.schema, ddl.index) });
        return ok('DROP INDEX', `dropped index ${ddl.index}`);
      }
    }
  }

  private async findIndexAnywhere(index: string, table?: string): Promise<{ table: string; state: TableState } | undefined> {
    const names = table ? [table] : await this.tableNames();
    for (const name of names) {
      const found = await this.lookup(this.options.store, name);
      if (found && findIndex(found.state.schema, index)) return { table: found.stored, state: found.state };
    }
    return undefined;
  }

  /** @internal the working store (for StatementContext). */
  get workingStore(): TableStore {
    return this.options.store;
  }

  /** @internal the revision source (for StatementContext). */
  get revisionSource(): RevisionSource | undefined {
    return this.options.revisions;
  }
}

/** A row as read for UPDATE / DELETE, before the statement changed it. */
interface Snapshot {
  key: Uint8Array;
  row: EngineRow;
}

/** One row's change in a write statement. */
interface RowChange {
  /** The row before (engine form), for UPDATE / DELETE / REPLACE. */
  before?: EngineRow;
  beforeKey?: Uint8Array;
  /** The new values (user form), for INSERT / UPDATE. */
  input?: Record<string, unknown>;
  /** The coerced new row. */
  after?: Record<string, SqlValue>;
  afterKey?: Uint8Array;
  afterValue?: import('../blob/blob-ref.js').TreeValue;
  /** 1-based row number of an INSERT. */
  row?: number;
  /** Key description of an UPDATE's row. */
  where?: string;
  /** INSERT OR REPLACE. */
  replace?: boolean;
}

/** Per-statement state: stores by revision, resolved tables, handles, the write lock. */
class StatementContext {
  readonly tables = new Map<TableRef, { store: TableStore; stored: string; state: TableState }>();
  readonly system = new Map<TableRef, SystemRows>();
  readonly handles = new Map<TableRef, TableHandle>();
  readonly snapshots = new Map<EngineRow, Snapshot>();
  private readonly revisions = new Map<string, TableStore>();
  private readonly nodeStores = new Set<NodeStore>();
  private writing = false;
  private built = false;

  constructor(private readonly session: SqlSession) {}

  async revisionStore(rev: string): Promise<TableStore> {
    let store = this.revisions.get(rev);
    if (!store) {
      const source = this.session.revisionSource;
      if (!source) throw new ProllyError(ErrorCodes.SQL_UNSUPPORTED, `AS OF '${rev}' needs a git repository`, { revision: rev });
      store = await source.tablesAt(rev);
      this.revisions.set(rev, store);
    }
    this.nodeStores.add(await store.nodes());
    return store;
  }

  /**
   * Make sure the store is writable for this statement (to build an index or write rows): takes the
   * write lock. `required` rethrows failures; otherwise (an optional index build) false is returned.
   */
  async ensureWritable(store: TableStore, required = false): Promise<boolean> {
    if (store !== this.session.workingStore || !store.writable) {
      if (required) throw readOnly(store.label);
      return false;
    }
    if (this.writing) return true;
    try {
      this.nodeStores.add(await store.beginWrite());
      this.writing = true;
      this.built = true;
      return true;
    } catch (e) {
      if (required || !(e instanceof ProllyError) || e.code !== ErrorCodes.LOCKED) throw e;
      return false;
    }
  }

  /** True once this statement holds the write lock. */
  get isWriting(): boolean {
    return this.writing;
  }

  indexCache() {
    return this.session.workingStore.indexRoots;
  }

  /** Make index trees built while reading durable, and remember their roots. */
  async finish(): Promise<void> {
    if (!this.built) return;
    const store = this.session.workingStore;
    await (await store.nodes()).flush();
    await store.indexRoots.save?.();
  }

  nodeReads(): number {
    let n = 0;
    for (const s of this.nodeStores) n += s.stats.nodeReads;
    return n;
  }

  track(nodes: NodeStore): void {
    this.nodeStores.add(nodes);
  }
}

/** Column names of the system tables (some are alasql keywords: rows, columns, commit). */
const SYSTEM_COLUMNS = ['commit', 'author', 'email', 'date', 'message', 'datasets', 'parents', 'name', 'current', 'rows', 'columns', 'primary_key', 'indexes', 'root', 'diff_type'];

/** Hidden column numbering the rows an UPDATE / DELETE reads, and the names of its SET values. */
const ROW_INDEX = '__prolly_row';
const SET_PREFIX = '__prolly_set';

/** A key as a Map / Set key (latin1: one character per byte, no hex expansion). */
function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function checkTableName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) || name.includes('..') || name.endsWith('.lock')) {
    throw new ProllyError(ErrorCodes.SQL_NAME, `invalid table name ${JSON.stringify(name)}: table names are dataset names (1–128 letters, digits, ".", "_" or "-", starting with a letter or digit)`, { table: name });
  }
}

function describeKey(handle: TableHandle, key: Uint8Array): string {
  const values = decodeKey(key, handle.keys.types);
  return handle.keys.names.map((n, i) => `${n}=${showValue(values[i])}`).join(', ');
}

function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `x'${toHex(v)}'`;
  return String(v);
}

function duplicateKey(handle: TableHandle, key: Uint8Array, c: RowChange, other?: RowChange): ProllyError {
  const where = c.row !== undefined ? `row ${c.row}${other?.row !== undefined ? ` (same key as row ${other.row})` : ''}` : `the row ${c.where}`;
  const cols = handle.keys.hidden ? ROWID_COLUMN : handle.keys.names.join(', ');
  return new ProllyError(ErrorCodes.SQL_CONSTRAINT, `table ${JSON.stringify(handle.name)}, ${where}: duplicate primary key (${cols}) = (${describeKey(handle, key).replace(/\w+=/g, '')}); nothing was changed`, {
    table: handle.name,
    column: cols,
    row: c.row ?? c.where,
  });
}

/** UNIQUE: no two rows (after the change) with equal non-NULL index values. */
async function checkUnique(handle: TableHandle, index: IndexSchema, tree: ProllyTree, changes: RowChange[]): Promise<void> {
  const schema = handle.schema;
  const names = index.columns.map((id) => schema.columns.find((c) => c.id === id)!.name);
  const removed = new Set(changes.filter((c) => c.beforeKey).map((c) => toHex(c.beforeKey!)));
  const seen = new Map<string, RowChange>();
  const pkTypes = handle.keys.types;
  const types = indexKeyTypes(schema, index);
  for (const c of changes) {
    if (!c.after) continue;
    const values = names.map((n) => c.after![n]);
    if (values.some((v) => v === null || v === undefined)) continue;
    const prefix = encodeKey(values as KeyInput[], types.slice(0, names.length));
    const hex = toHex(prefix);
    const other = seen.get(hex);
    if (other) throw uniqueViolation(handle, index, names, values, c);
    seen.set(hex, c);
    for (const k of await indexPrefixKeys(tree, schema, index, values, 4)) {
      const pk = encodeKey(decodeKey(k, types).slice(names.length) as KeyInput[], pkTypes);
      if (removed.has(toHex(pk)) || equalBytes(pk, c.afterKey!)) continue;
      throw uniqueViolation(handle, index, names, values, c);
    }
  }
}

function uniqueViolation(handle: TableHandle, index: IndexSchema, names: string[], values: unknown[], c: RowChange): ProllyError {
  const where = c.row !== undefined ? `row ${c.row}` : `the row ${c.where}`;
  return new ProllyError(ErrorCodes.SQL_CONSTRAINT, `table ${JSON.stringify(handle.name)}, ${where}: UNIQUE index ${index.name} already has (${names.join(', ')}) = (${values.map(showValue).join(', ')}); nothing was changed`, {
    table: handle.name,
    column: names.join(', '),
    row: c.row ?? c.where,
  });
}

function sameEngineValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return equalBytes(a, b);
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Columns and row arrays of an alasql RECORDSET. */
function recordsetRows(result: Any, output = true): { columns: string[]; rows: SqlValue[][] } {
  const columns: string[] = (result?.columns ?? []).map((c: Any) => String(c.columnid));
  const data: Any[] = result?.data ?? (Array.isArray(result) ? result : []);
  if (columns.length === 0 && data.length > 0) columns.push(...Object.keys(data[0]));
  const rows = data.map((o: Any) => columns.map((c) => (output ? toOutputValue(o[c]) : (o[c] as SqlValue))));
  return { columns, rows };
}

function explainResult(sql: string, plan: TablePlan[]): StatementResult {
  const columns = ['table', 'alias', 'revision', 'access', 'index', 'condition', 'ranges', 'est_rows'];
  const rows = plan.map((p) => [p.table, p.alias, p.revision, p.access, p.index ?? null, p.condition || null, p.ranges, p.estimatedRows ?? null] as SqlValue[]);
  return { kind: 'rows', sql, columns, rows, plan, nodeReads: 0 };
}

