/**
 * Three-way merge (ARCHITECTURE decision 5): diff base→ours and base→theirs side by side; changes only
 * theirs made are applied to ours; a key both sides changed differently is a conflict — including
 * delete-vs-modify. Cost follows the two diffs.
 */
import type { TreeValue } from '../blob/blob-ref.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import { compareBytes, equalBytes, toHex } from '../util/bytes.js';
import { diffRaw, type RawDiff } from './diff.js';
import { applyEdits, type LevelEdit } from './mutate.js';
import { checkLeafValue, decodeLeafPayload } from './node.js';
import type { NodeStore } from './node-store.js';

/** A key both sides changed differently. An absent side (undefined) means the key does not exist there. */
export interface Conflict {
  key: Uint8Array;
  base: TreeValue | undefined;
  ours: TreeValue | undefined;
  theirs: TreeValue | undefined;
}

/** How to settle one conflict: keep a side, write a value (null deletes), or leave it unresolved. */
export type Resolution = 'ours' | 'theirs' | { value: TreeValue | null } | undefined;
export type ConflictResolver = (conflict: Conflict) => Resolution | Promise<Resolution>;
/** Built-in strategies: prefer a side, or throw EMERGECONFLICT on the first conflict. */
export type MergeStrategy = 'ours' | 'theirs' | 'fail';

export interface MergeOptions {
  base: Uint8Array;
  ours: Uint8Array;
  theirs: Uint8Array;
  /** A built-in strategy or a resolver callback. Without one, conflicts are returned unresolved. */
  resolve?: MergeStrategy | ConflictResolver;
}

export interface MergeResult {
  /** Root of the merged tree. Unresolved conflicts keep ours' value. */
  root: Uint8Array;
  /** Conflicts left unresolved. */
  conflicts: Conflict[];
  /** Edits applied on top of ours (0 when one side is unchanged and the other is taken whole). */
  applied: number;
}

const BATCH = 100_000;

/**
 * Merge `theirs` into `ours` relative to `base`.
 * @example const { root, conflicts } = await mergeTrees(nodes, { base, ours, theirs, resolve: 'theirs' })
 */
export async function mergeTrees(nodes: NodeStore, opts: MergeOptions): Promise<MergeResult> {
  const { base, ours, theirs } = opts;
  if (equalBytes(base, theirs) || equalBytes(ours, theirs)) return { root: ours, conflicts: [], applied: 0 };
  if (equalBytes(base, ours)) return { root: theirs, conflicts: [], applied: 0 };
  const resolver = toResolver(opts.resolve);
  const oursIt = diffRaw(nodes, base, ours)[Symbol.asyncIterator]();
  const theirsIt = diffRaw(nodes, base, theirs)[Symbol.asyncIterator]();
  let o = await oursIt.next();
  let t = await theirsIt.next();
  let root = ours;
  let edits: LevelEdit[] = [];
  let applied = 0;
  const conflicts: Conflict[] = [];
  const flush = async () => {
    if (edits.length === 0) return;
    root = await applyEdits(nodes, root, edits);
    applied += edits.length;
    edits = [];
  };
  while (!t.done) {
    const c = o.done ? 1 : compareBytes(o.value.key, t.value.key);
    if (c < 0) {
      o = await oursIt.next();
      continue;
    }
    const td: RawDiff = t.value;
    if (c > 0) {
      edits.push({ key: td.key, value: decodeMaybe(td.to) ?? null });
    } else {
      const od: RawDiff = o.value!;
      if (!samePayload(od.to, td.to)) {
        const conflict: Conflict = { key: td.key, base: decodeMaybe(td.from), ours: decodeMaybe(od.to), theirs: decodeMaybe(td.to) };
        const r = await resolver(conflict);
        if (r === 'theirs') edits.push({ key: td.key, value: decodeMaybe(td.to) ?? null });
        else if (r !== undefined && r !== 'ours') {
          if (r.value !== null) checkLeafValue(r.value);
          edits.push({ key: td.key, value: r.value });
        }
        else if (r === undefined) conflicts.push(conflict);
      }
      o = await oursIt.next();
    }
    t = await theirsIt.next();
    if (edits.length >= BATCH) await flush();
  }
  await flush();
  return { root, conflicts, applied };
}

function samePayload(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : equalBytes(a, b);
}

function decodeMaybe(p: Uint8Array | undefined): TreeValue | undefined {
  // Copy: conflicts outlive the node buffers' cache lifetime and callers may keep them.
  return p === undefined ? undefined : decodeLeafPayload(Uint8Array.from(p));
}

function toResolver(resolve: MergeOptions['resolve']): ConflictResolver {
  if (typeof resolve === 'function') return resolve;
  if (resolve === 'ours' || resolve === 'theirs') return () => resolve;
  if (resolve === 'fail') {
    return (c) => {
      throw new ProllyError(ErrorCodes.MERGE_CONFLICT, `merge conflict at key ${toHex(c.key)}`, { key: toHex(c.key) });
    };
  }
  return () => undefined;
}
