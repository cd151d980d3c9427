/**
 * Child of bench/engine.ts: opens the local store in a fresh process and times point gets of keys
 * that were in the built tree. Prints JSON { get_cold_us, get_first_us }.
 */
import { openLocalStack } from '../src/store/local-store.js';
import { NodeStore } from '../src/tree/node-store.js';
import { ProllyTree } from '../src/tree/prolly-tree.js';
import { fromHex } from '../src/util/bytes.js';
import { median, now } from './common.js';

const [dir, rootHex] = process.argv.slice(2);
const stack = await openLocalStack({ dir: dir!, readOnly: true, cacheBytes: 32 << 20 });
const nodes = new NodeStore(stack.store);
const t0 = now();
const tree = await ProllyTree.open(nodes, fromHex(rootHex!));
// Probe keys: sample entries by position, then read them from a fresh node cache so leaves are cold.
const probes: Uint8Array[] = [];
for (let i = 0; i < 300; i++) probes.push((await tree.entryAt(Math.floor((i * 3331 * 997) % tree.count)))![0]);
const first = now() - t0;
const coldNodes = new NodeStore((await openLocalStack({ dir: dir!, readOnly: true, cacheBytes: 0 })).store);
const cold = await ProllyTree.open(coldNodes, fromHex(rootHex!));
const times: number[] = [];
for (const k of probes) {
  const s = now();
  const v = await cold.get(k);
  times.push((now() - s) * 1000);
  if (!v) throw new Error('probe key missing');
}
process.stdout.write(JSON.stringify({ get_cold_us: median(times), get_first_open_and_sample_ms: first }));
