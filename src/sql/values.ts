/**
 * Values inside the query engine. alasql represents SQL NULL as `undefined` (its NULL literal compiles to
 * `undefined`, and an outer join's missing side reads as `undefined`), so rows handed to it use
 * `undefined` too: one NULL, never two that GROUP BY or DISTINCT would tell apart. Results are turned
 * back into the SqlValue forms of src/sql/types.ts with NULL as `null`.
 */
import type { SqlValue } from './types.js';

/** A row as the engine sees it: column name → value, NULL as undefined. */
export type EngineRow = Record<string, unknown>;

/**
 * The engine form of a stored value.
 * @example toEngineValue(null) // undefined
 */
export function toEngineValue(v: SqlValue | undefined): unknown {
  return v === null ? undefined : v;
}

/**
 * A value as a query returns it: NULL (undefined, null or NaN) is null; Dates become ISO text.
 * @example toOutputValue(undefined) // null
 */
export function toOutputValue(v: unknown): SqlValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === 'function' || typeof v === 'symbol') return String(v);
  return v as SqlValue;
}

/**
 * A user value for coercion into a column: undefined (NULL from the engine) becomes null.
 * @example toSqlInput(undefined) // null
 */
export function toSqlInput(v: unknown): unknown {
  return v === undefined ? null : v;
}
