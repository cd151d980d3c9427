/**
 * Key-level differences between two states of the repository's datasets. A state is a git revision
 * or the work tree; datasets whose pointers are equal are skipped without reading a node, and the
 * rest are compared with the structural tree diff, whose cost follows the size of the change.
 */
import type { TreeValue } from '../blob/blob-ref.js';
import { diff } from '../tree/diff.js';
import { EMPTY_ROOT } from '../tree/node-store.js';
import type { DatasetPointer } from './pointer.js';
import { samePointer } from './pointer.js';
import type { Repo } from './repo.js';

/** Options of {@link Repo.diff}. */
export interface DiffOptions {
  /** Old side: a revision (default HEAD; the empty state when the branch has no commits); null: the empty state. */
  from?: string | null;
  /** New side: a revision, or undefined for the work tree. */
  to?: string;
  /** Only these datasets. */
  datasets?: string[];
}

/** One key-level change. Values are stored forms (inline bytes or BlobRef). */
export type DatasetChange =
  | { dataset: string; type: 'added'; key: Uint8Array; to: TreeValue }
  | { dataset: string; type: 'removed'; key: Uint8Array; from: TreeValue }
  | { dataset: string; type: 'modified'; key: Uint8Array; from: TreeValue; to: TreeValue };

/** A dataset whose pointer differs between the two states. */
export interface DatasetDelta {
  dataset: string;
  from: DatasetPointer | undefined;
  to: DatasetPointer | undefined;
}

/**
 * Pointers of every dataset in a state: a revision, or the work tree when `rev` is undefined.
 * `HEAD` of a branch without commits is the empty state.
 * @example const atHead = await pointersOf(repo, 'HEAD'); atHead.get('users')?.count
 */
export async function pointersOf(repo: Repo, rev: string | undefined | null): Promise<Map<string, DatasetPointer>> {
  if (rev === null) return new Map();
  if (rev === undefined) return new Map((await repo.datasets()).map((d) => [d.name, d.pointer]));
  if (rev === 'HEAD') {
    const git = await repo.git();
    if (!(await git.head()).oid) return new Map();
  }
  return new Map((await repo.datasets({ at: rev })).map((d) => [d.name, d.pointer]));
}

/**
 * Datasets whose pointers differ between two states, sorted by name.
 * @example const deltas = await changedDatasets(repo, { from: 'HEAD' })
 */
export async function changedDatasets(repo: Repo, options: DiffOptions = {}): Promise<DatasetDelta[]> {
  const a = await pointersOf(repo, options.from === undefined ? 'HEAD' : options.from);
  const b = await pointersOf(repo, options.to);
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  const only = options.datasets ? new Set(options.datasets) : undefined;
  return names.filter((n) => (!only || only.has(n)) && !samePointer(a.get(n), b.get(n))).map((n) => ({ dataset: n, from: a.get(n), to: b.get(n) }));
}

/**
 * Key-level changes between two states, dataset by dataset in name order, keys in order.
 * @example for await (const c of diffStates(repo, { from: 'HEAD~1', to: 'HEAD' })) …
 */
export async function* diffStates(repo: Repo, options: DiffOptions = {}): AsyncGenerator<DatasetChange> {
  for (const delta of await changedDatasets(repo, options)) yield* diffPointers(repo, delta);
}

/**
 * Key-level changes of one dataset between two pointers (absent = empty).
 * @example for await (const c of diffPointers(repo, { dataset: 'users', from, to })) …
 */
export async function* diffPointers(repo: Repo, delta: DatasetDelta): AsyncGenerator<DatasetChange> {
  const { nodes } = await repo.reader();
  const fromRoot = delta.from?.root ?? EMPTY_ROOT.address;
  const toRoot = delta.to?.root ?? EMPTY_ROOT.address;
  if (!delta.from || !delta.to) nodes.write(EMPTY_ROOT.address, EMPTY_ROOT.bytes);
  for await (const d of diff(nodes, fromRoot, toRoot)) yield { dataset: delta.dataset, ...d } as DatasetChange;
}

/** Per-dataset change counts. */
export interface DiffStat {
  dataset: string;
  added: number;
  removed: number;
  modified: number;
  from: DatasetPointer | undefined;
  to: DatasetPointer | undefined;
}

/**
 * Count changes per dataset (still a structural diff, so cost follows the change).
 * @example const stats = await diffStats(repo, { from: 'main', to: 'feature' })
 */
export async function diffStats(repo: Repo, options: DiffOptions = {}): Promise<DiffStat[]> {
  const out: DiffStat[] = [];
  for (const delta of await changedDatasets(repo, options)) {
    const s: DiffStat = { dataset: delta.dataset, added: 0, removed: 0, modified: 0, from: delta.from, to: delta.to };
    for await (const c of diffPointers(repo, delta)) s[c.type === 'added' ? 'added' : c.type === 'removed' ? 'removed' : 'modified']++;
    out.push(s);
  }
  return out;
}
