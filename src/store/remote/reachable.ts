/**
 * What a dataset version needs on a remote: its tree root and, for tables, its schema chunk. Push,
 * fetch and tiering enumerate chunks from these (src/store/remote/push.ts walks them children
 * first; fetch.ts breadth-first).
 */

/**
 * A dataset version's entry points.
 * @example const roots: DatasetRoots[] = [{ root: pointer.root, schema: pointer.schema }];
 */
export interface DatasetRoots {
  root: Uint8Array;
  schema?: Uint8Array;
}
