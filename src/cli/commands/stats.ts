/** `git prolly stats [dataset] [--at rev]`: entries, depth, node-size distribution, bytes. */
import { BlobRef } from '../../blob/blob-ref.js';
import { unknownDataset } from '../../dataset/dataset.js';
import { walkTree } from '../../tree/walk.js';
import { toHex } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

interface DatasetStats {
  name: string;
  kind: string;
  count: number;
  depth: number;
  root: string;
  nodes: number;
  nodesPerLevel: number[];
  nodeBytes: { total: number; min: number; p50: number; p90: number; max: number; mean: number };
  /** Node count per size bucket: "<1k", "1-2k", "2-4k", "4-8k", "8-16k", "≥16k". */
  sizeHistogram: Record<string, number>;
  blobs: { count: number; bytes: number };
}

const BUCKETS: [string, number][] = [
  ['<1k', 1024],
  ['1-2k', 2048],
  ['2-4k', 4096],
  ['4-8k', 8192],
  ['8-16k', 16384],
  ['>=16k', Infinity],
];

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [only] = args as [string | undefined];
  const at = options.at as string | undefined;
  await withRepo('stats', async (repo) => {
    const all = await repo.datasets({ at });
    const list = only === undefined ? all : all.filter((d) => d.name === only);
    if (only !== undefined && list.length === 0) throw unknownDataset(only, at);
    const { nodes } = await repo.reader();
    const results: DatasetStats[] = [];
    for (const { name, pointer } of list) {
      const sizes: number[] = [];
      const perLevel: number[] = [];
      let blobs = 0;
      let blobBytes = 0;
      let depth = 0;
      for await (const node of walkTree(nodes, pointer.root)) {
        sizes.push(node.bytes.length);
        perLevel[node.level] = (perLevel[node.level] ?? 0) + 1;
        depth = Math.max(depth, node.level + 1);
        if (node.level === 0) {
          for (let i = 0; i < node.size; i++) {
            const v = node.value(i);
            if (v instanceof BlobRef) {
              blobs++;
              blobBytes += v.length;
            }
          }
        }
      }
      sizes.sort((a, b) => a - b);
      const total = sizes.reduce((a, b) => a + b, 0);
      const q = (f: number) => sizes[Math.min(sizes.length - 1, Math.floor(f * sizes.length))] ?? 0;
      const histogram: Record<string, number> = {};
      for (const [label] of BUCKETS) histogram[label] = 0;
      for (const s of sizes) histogram[BUCKETS.find(([, max]) => s < max)![0]]!++;
      results.push({
        name,
        kind: pointer.kind,
        count: pointer.count,
        depth,
        root: toHex(pointer.root),
        nodes: sizes.length,
        nodesPerLevel: perLevel.map((n) => n ?? 0),
        nodeBytes: { total, min: sizes[0] ?? 0, p50: q(0.5), p90: q(0.9), max: sizes[sizes.length - 1] ?? 0, mean: sizes.length ? Math.round(total / sizes.length) : 0 },
        sizeHistogram: histogram,
        blobs: { count: blobs, bytes: blobBytes },
      });
    }
    if (out.json) {
      await out.printJson(only === undefined ? results : results[0]);
      return;
    }
    for (const s of results) {
      await out.line(`${s.name} (${s.kind})`);
      await out.line(`  entries      ${formatCount(s.count)}`);
      await out.line(`  depth        ${s.depth} (nodes per level, leaves first: ${s.nodesPerLevel.map(formatCount).join(', ')})`);
      await out.line(`  nodes        ${formatCount(s.nodes)}, ${formatBytes(s.nodeBytes.total)} uncompressed`);
      await out.line(`  node sizes   min ${s.nodeBytes.min} B, median ${s.nodeBytes.p50} B, p90 ${s.nodeBytes.p90} B, max ${s.nodeBytes.max} B, mean ${s.nodeBytes.mean} B`);
      await out.line(`  histogram    ${Object.entries(s.sizeHistogram).map(([k, v]) => `${k}: ${formatCount(v)}`).join('  ')}`);
      await out.line(`  blobs        ${formatCount(s.blobs.count)} values, ${formatBytes(s.blobs.bytes)}`);
      await out.line(`  root         ${s.root}`);
    }
  });
}
