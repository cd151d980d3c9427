/**
 * `git prolly history <dataset> <key>`: the commits where one key's value changed. Walks first-parent
 * history comparing the dataset's pointer commit to commit (tree and blob ids, no chunk reads); only
 * where the dataset's root differs does it look the key up on both sides — a point lookup of a few
 * nodes, never a scan — so the cost follows the number of commits that changed the dataset.
 */
import type { TreeValue } from '../blob/blob-ref.js';
import { keyBytes, type KeyInput } from '../dataset/values.js';
import { EMPTY_ROOT } from '../tree/node-store.js';
import { ProllyTree } from '../tree/prolly-tree.js';
import { equalBytes } from '../util/bytes.js';
import { encodeLeafPayload } from '../tree/node.js';
import type { GitCommit } from './git.js';
import { checkDatasetName } from './pointer.js';
import type { Repo } from './repo.js';

/** Options of {@link Repo.history}. */
export interface HistoryOptions {
  /** Start here (default HEAD). */
  rev?: string;
  /** At most this many entries. */
  limit?: number;
}

/** A commit where the key changed; values are stored forms (inline bytes or BlobRef). */
export interface HistoryEntry {
  commit: GitCommit;
  type: 'added' | 'removed' | 'modified';
  /** Value before the commit (undefined when added). */
  from?: TreeValue;
  /** Value after the commit (undefined when removed). */
  to?: TreeValue;
}

/**
 * The change history of one key.
 * @example for (const h of await keyHistory(repo, 'users', 'alice')) console.log(h.commit.oid, h.type)
 */
export async function keyHistory(repo: Repo, dataset: string, key: KeyInput, options: HistoryOptions = {}): Promise<HistoryEntry[]> {
  checkDatasetName(dataset);
  const k = keyBytes(key);
  const git = await repo.git();
  const rev = options.rev ?? 'HEAD';
  if (rev === 'HEAD' && !(await git.head()).oid) return [];
  const { nodes } = await repo.reader();
  nodes.write(EMPTY_ROOT.address, EMPTY_ROOT.bytes);
  const limit = options.limit ?? Infinity;
  const out: HistoryEntry[] = [];

  /** The dataset's pointer blob id at a commit (undefined when absent), via the datasets tree. */
  const blobAt = async (commit: GitCommit) => (await git.datasetBlobsAt(commit.oid)).get(dataset);
  const valueAt = async (blob: string | undefined, label: string): Promise<TreeValue | undefined> => {
    if (!blob) return undefined;
    const p = await git.pointerBlob(blob, label);
    return (await ProllyTree.open(nodes, p.root)).get(k);
  };

  let current = await git.readCommit(await git.resolve(rev));
  let currentTree = await git.datasetsTreeAt(current.oid);
  let currentBlob = currentTree ? await blobAt(current) : undefined;
  for (;;) {
    if (out.length >= limit) break;
    const parentOid = current.parents[0];
    const parent = parentOid ? await git.readCommit(parentOid) : undefined;
    const parentTree = parent ? await git.datasetsTreeAt(parent.oid) : undefined;
    // Same datasets tree ⇒ same pointer blob: skip without reading the directory.
    const parentBlob = parent ? (parentTree === currentTree ? currentBlob : parentTree ? await blobAt(parent) : undefined) : undefined;
    if (parentBlob !== currentBlob) {
      const [after, before] = await Promise.all([valueAt(currentBlob, `${current.oid.slice(0, 12)}:${dataset}`), valueAt(parentBlob, `${parentOid?.slice(0, 12)}:${dataset}`)]);
      if (!sameValue(before, after)) {
        out.push({ commit: current, type: before === undefined ? 'added' : after === undefined ? 'removed' : 'modified', from: before, to: after });
      }
    }
    if (!parent) break;
    current = parent;
    currentTree = parentTree;
    currentBlob = parentBlob;
  }
  return out;
}

function sameValue(a: TreeValue | undefined, b: TreeValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return equalBytes(encodeLeafPayload(a), encodeLeafPayload(b));
}
