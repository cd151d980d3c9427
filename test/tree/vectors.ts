/**
 * Known-answer vectors for the node format: entry sets → node bytes → addresses → root.
 * `npx vitest run test/tree/node.test.ts` checks the committed fixtures against these recipes;
 * regenerate with `UPDATE_VECTORS=1` only when the format version changes.
 */
import { BlobRef, type TreeValue } from '../../src/blob/blob-ref.js';
import { sha256 } from '../../src/util/hash.js';
import { utf8 } from '../../src/util/bytes.js';

export interface VectorRecipe {
  name: string;
  description: string;
  entries: () => [Uint8Array, TreeValue][];
}

export const recipes: VectorRecipe[] = [
  { name: 'empty', description: 'the empty tree: one leaf with no entries', entries: () => [] },
  { name: 'single', description: 'one inline entry: key "a", value "1"', entries: () => [[utf8('a'), utf8('1')]] },
  {
    name: 'blob-ref',
    description: 'three entries; "big" is a blob reference (address = SHA-256("blob"), length 5000); "empty" has a zero-length value',
    entries: () => [
      [utf8('big'), new BlobRef(sha256(utf8('blob')), 5000)],
      [utf8('empty'), new Uint8Array(0)],
      [utf8('small'), utf8('hello')],
    ],
  },
  {
    name: 'two-levels',
    description: 'keys "key-00000" … "key-01999" (zero-padded decimal), values "value-<i>" (decimal, no padding)',
    entries: () => Array.from({ length: 2000 }, (_, i) => [utf8(`key-${String(i).padStart(5, '0')}`), utf8(`value-${i}`)] as [Uint8Array, TreeValue]),
  },
];
