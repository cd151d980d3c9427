/**
 * Unresolved merge conflicts, recorded by the merge driver per dataset in
 * `<gitDir>/prolly/conflicts/<dataset>.json` (local state: never committed). A record is valid only
 * while git still lists the pointer as unmerged and the work tree's pointer still has the root it was
 * written for; after `git merge --abort`, `git add` + `git commit`, `git checkout` or a `restore` it no
 * longer holds and is ignored.
 *
 * Record format (version 1):
 *   { "version": 1, "dataset": "users", "merged": <root hex>, "base": <root hex>, "ours": <root hex>,
 *     "theirs": <root hex>, "conflicts": [{ "key": <hex>, "base": V, "ours": V, "theirs": V }] }
 * where V is null (absent on that side), { "inline": <base64> } or { "blob": <hex>, "length": n }.
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BlobRef, type TreeValue } from '../blob/blob-ref.js';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { Conflict } from '../tree/merge.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { fromHex, toHex, utf8 } from '../util/bytes.js';
import { readIndex } from './git-index.js';
import { pointerPath, type RepoPaths } from './paths.js';
import type { DatasetPointer } from './pointer.js';

type StoredValue = null | { inline: string } | { blob: string; length: number };

/** The stored record of one dataset's conflicts. */
export interface ConflictRecord {
  version: 1;
  dataset: string;
  /** Root of the pointer the merge driver wrote (with ours' value at each conflicting key). */
  merged: string;
  base: string;
  ours: string;
  theirs: string;
  conflicts: { key: string; base: StoredValue; ours: StoredValue; theirs: StoredValue }[];
}

/** A dataset's unresolved conflicts, decoded. */
export interface DatasetConflicts {
  dataset: string;
  conflicts: Conflict[];
  record: ConflictRecord;
}

function recordPath(paths: Pick<RepoPaths, 'conflictsDir'>, dataset: string): string {
  return join(paths.conflictsDir, `${dataset}.json`);
}

function encodeValue(v: TreeValue | undefined): StoredValue {
  if (v === undefined) return null;
  if (v instanceof BlobRef) return { blob: toHex(v.address), length: v.length };
  return { inline: Buffer.from(v).toString('base64') };
}

/**
 * Decode a stored conflict value.
 * @example decodeStoredValue({ inline: 'MQ==' }) // Uint8Array [49]
 */
export function decodeStoredValue(v: StoredValue): TreeValue | undefined {
  if (v === null) return undefined;
  if ('blob' in v) return new BlobRef(fromHex(v.blob), v.length);
  return new Uint8Array(Buffer.from(v.inline, 'base64'));
}

/**
 * Record a dataset's conflicts (replacing any earlier record), or remove the record when there are none.
 * @example writeConflicts(paths, { dataset: 'users', merged, base, ours, theirs, conflicts })
 */
export function writeConflicts(
  paths: Pick<RepoPaths, 'conflictsDir'>,
  r: { dataset: string; merged: Uint8Array; base: Uint8Array; ours: Uint8Array; theirs: Uint8Array; conflicts: Conflict[] },
): void {
  if (r.conflicts.length === 0) {
    removeConflicts(paths, r.dataset);
    return;
  }
  const record: ConflictRecord = {
    version: 1,
    dataset: r.dataset,
    merged: toHex(r.merged),
    base: toHex(r.base),
    ours: toHex(r.ours),
    theirs: toHex(r.theirs),
    conflicts: r.conflicts.map((c) => ({ key: toHex(c.key), base: encodeValue(c.base), ours: encodeValue(c.ours), theirs: encodeValue(c.theirs) })),
  };
  saveRecord(paths, record);
}

/**
 * Store a record as is (used by resolve after it settles keys).
 * @example record.conflicts.splice(0, 1); saveRecord(repo.paths, record);
 */
export function saveRecord(paths: Pick<RepoPaths, 'conflictsDir'>, record: ConflictRecord): void {
  if (record.conflicts.length === 0) {
    removeConflicts(paths, record.dataset);
    return;
  }
  mkdirSync(paths.conflictsDir, { recursive: true });
  writeFileAtomicSync(recordPath(paths, record.dataset), utf8(JSON.stringify(record, null, 1) + '\n'));
}

/**
 * Delete a dataset's conflict record (no-op when absent).
 * @example removeConflicts(repo.paths, 'users')
 */
export function removeConflicts(paths: Pick<RepoPaths, 'conflictsDir'>, dataset: string): void {
  try {
    unlinkSync(recordPath(paths, dataset));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Read a dataset's record if it is still valid for the work tree's pointer (`current`).
 * @example const r = readConflicts(repo.paths, 'users', repo.readWorkPointer('users'))
 */
export function readConflicts(
  paths: Pick<RepoPaths, 'conflictsDir' | 'gitDir'>,
  dataset: string,
  current: DatasetPointer | undefined,
  unmerged: Set<string> = unmergedPaths(paths.gitDir),
): ConflictRecord | undefined {
  let text: string;
  try {
    text = readFileSync(recordPath(paths, dataset), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let record: ConflictRecord;
  try {
    record = JSON.parse(text) as ConflictRecord;
  } catch {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `${recordPath(paths, dataset)} is not valid JSON; delete it to drop the recorded conflicts`, { file: recordPath(paths, dataset) });
  }
  if (record.version !== 1 || !current || toHex(current.root) !== record.merged || !unmerged.has(pointerPath(dataset))) return undefined;
  return record;
}

/**
 * Paths the index lists with conflict stages.
 * @example unmergedPaths('/repo/.git').has('.prolly/datasets/users')
 */
export function unmergedPaths(gitDir: string): Set<string> {
  return new Set(readIndex(gitDir).entries.filter((e) => e.stage !== 0).map((e) => e.path));
}

/**
 * Valid conflict records of every dataset, decoded.
 * @example for (const { dataset, conflicts } of listConflicts(repo)) …
 */
export function listConflicts(repo: { paths: Pick<RepoPaths, 'conflictsDir' | 'gitDir'>; readWorkPointer(name: string): DatasetPointer | undefined }): DatasetConflicts[] {
  let files: string[];
  try {
    files = readdirSync(repo.paths.conflictsDir).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: DatasetConflicts[] = [];
  if (files.length === 0) return out;
  const unmerged = unmergedPaths(repo.paths.gitDir);
  for (const f of files) {
    const dataset = f.slice(0, -'.json'.length);
    let current: DatasetPointer | undefined;
    try {
      current = repo.readWorkPointer(dataset);
    } catch {
      current = undefined;
    }
    const record = readConflicts(repo.paths, dataset, current, unmerged);
    if (!record) continue;
    out.push({
      dataset,
      record,
      conflicts: record.conflicts.map((c) => ({ key: fromHex(c.key), base: decodeStoredValue(c.base), ours: decodeStoredValue(c.ours), theirs: decodeStoredValue(c.theirs) })),
    });
  }
  return out;
}
