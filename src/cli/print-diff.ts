/**
 * Printing key-level changes, shared by `diff`, `show` and git's external diff driver. The format
 * reads like a unified diff of `key = value` lines:
 *
 *   diff --prolly a/users b/users
 *   --- users (3000 entries, root 1a2b3c4d5e6f)
 *   +++ users (3001 entries, root 9f8e7d6c5b4a)
 *   +dave = {"id":"dave"}
 *   -bob = {"id":"bob"}
 *   -carol = {"age":30}
 *   +carol = {"age":31}
 */
import type { DatasetChange, DatasetDelta } from '../repo/diff.js';
import { diffPointers } from '../repo/diff.js';
import type { DatasetPointer } from '../repo/pointer.js';
import type { Repo } from '../repo/repo.js';
import type { Output } from './output.js';
import { displayKey, displayValue, jsonKey, jsonValue, shortHex } from './render.js';

/** Longest value shown on one diff line, in characters. */
export const DIFF_VALUE_WIDTH = 400;

/**
 * "(3000 entries, root 1a2b3c4d5e6f)" or "(absent)".
 * @example describePointer(pointer) // '(3000 entries, root 1a2b3c4d5e6f)'
 */
export function describePointer(p: DatasetPointer | undefined): string {
  return p ? `(${p.count} ${p.count === 1 ? 'entry' : 'entries'}, root ${shortHex(p.root)})` : '(absent)';
}

/**
 * The lines of one change.
 * @example changeLines(change) // ['-alice = 1', '+alice = 2']
 */
export function changeLines(c: DatasetChange): string[] {
  const k = displayKey(c.key);
  if (c.type === 'added') return [`+${k} = ${displayValue(c.to, DIFF_VALUE_WIDTH)}`];
  if (c.type === 'removed') return [`-${k} = ${displayValue(c.from, DIFF_VALUE_WIDTH)}`];
  return [`-${k} = ${displayValue(c.from, DIFF_VALUE_WIDTH)}`, `+${k} = ${displayValue(c.to, DIFF_VALUE_WIDTH)}`];
}

/**
 * A change as JSON.
 * @example JSON.stringify(changeJson(change))
 */
export function changeJson(c: DatasetChange): Record<string, unknown> {
  return {
    dataset: c.dataset,
    type: c.type,
    ...jsonKey(c.key),
    ...jsonValue('from', c.type === 'added' ? undefined : c.from),
    ...jsonValue('to', c.type === 'removed' ? undefined : c.to),
  };
}

/**
 * Print the key-level diff of datasets (text), labelling the sides. Returns the number of changes.
 * @example await printDeltas(out, repo, deltas, { fromLabel: 'HEAD', toLabel: 'work tree' })
 */
export async function printDeltas(out: Output, repo: Repo, deltas: DatasetDelta[], labels: { from: string; to: string }): Promise<number> {
  let n = 0;
  for (const delta of deltas) {
    await out.line(`diff --prolly a/${delta.dataset} b/${delta.dataset}`);
    await out.line(`--- ${delta.dataset}@${labels.from} ${describePointer(delta.from)}`);
    await out.line(`+++ ${delta.dataset}@${labels.to} ${describePointer(delta.to)}`);
    for await (const c of diffPointers(repo, delta)) {
      for (const l of changeLines(c)) await out.line(l);
      n++;
    }
  }
  return n;
}
