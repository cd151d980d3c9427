/**
 * Merkle proof cost on a given tree: generating a key proof (warm node cache), verifying it with the
 * pure verifier, and its size as JSON text. Targets on a 1M-entry tree with 100-byte values:
 * proof_gen_ms ≤ 1, proof_verify_ms ≤ 1, proof_bytes ≤ 32768.
 *
 * @example
 * const figures = await benchProof(tree); // { proof_gen_ms, proof_verify_ms, proof_bytes, … }
 */
import { pathToFileURL } from 'node:url';
import { proveKey, proveRange } from '../src/proof/prove.js';
import { verifyProof, verifyRangeProof } from '../src/proof/verify.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { NodeStore } from '../src/tree/node-store.js';
import { ProllyTree } from '../src/tree/prolly-tree.js';
import { concatBytes, utf8 } from '../src/util/bytes.js';

/** Figures from one run; times are medians over the sampled keys. */
export interface ProofBenchResult {
  /** proveKey, warm cache (ms). */
  proof_gen_ms: number;
  /** verifyProof on the proof object: base64 decoding, hashing, decoding, checks (ms). */
  proof_verify_ms: number;
  /** verifyProof on the JSON text, JSON.parse included (ms). */
  proof_verify_json_ms: number;
  /** Size of the proof as compact JSON text (median, bytes). */
  proof_bytes: number;
  /** Largest proof seen among the samples (bytes of JSON). */
  proof_bytes_max: number;
  /** Node bytes the proof carries, before base64 (median). */
  proof_node_bytes: number;
  /** A 100-entry range proof: generation and verification (ms), and its JSON size. */
  range100_gen_ms: number;
  range100_verify_ms: number;
  range100_bytes: number;
  tree_entries: number;
  tree_height: number;
  samples: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Deterministic sample positions, so runs compare. */
function positions(count: number, n: number): number[] {
  let x = 0x9e3779b9;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % count;
  });
}

/**
 * Measure proofs over `tree`: `samples` keys (default 200), half present and half absent.
 *
 * @example
 * console.log(JSON.stringify(await benchProof(tree, { samples: 500 })));
 */
export async function benchProof(tree: ProllyTree, opts: { samples?: number } = {}): Promise<ProofBenchResult> {
  const samples = opts.samples ?? 200;
  const keys: Uint8Array[] = [];
  for (const [i, at] of positions(Math.max(1, tree.count), samples).entries()) {
    const entry = tree.count > 0 ? await tree.entryAt(at) : undefined;
    const key = entry ? entry[0] : utf8(`absent-${at}`);
    // Odd samples: a key just above an existing one, absent, ending in the same leaf's neighbourhood.
    keys.push(i % 2 ? concatBytes([key, utf8('~')]) : key);
  }
  const root = tree.root;
  for (const k of keys) await proveKey(tree, k); // warm the node cache and the JIT

  const gen: number[] = [];
  const verify: number[] = [];
  const verifyJson: number[] = [];
  const sizes: number[] = [];
  const nodeBytes: number[] = [];
  let failures = 0;
  for (const k of keys) {
    let t = performance.now();
    const proof = await proveKey(tree, k);
    gen.push(performance.now() - t);
    const json = JSON.stringify(proof);
    sizes.push(Buffer.byteLength(json));
    nodeBytes.push(proof.path.reduce((n, b64) => n + Buffer.from(b64, 'base64').length, 0));
    t = performance.now();
    if (!verifyProof(proof, { root }).valid) failures++;
    verify.push(performance.now() - t);
    t = performance.now();
    if (!verifyProof(json, { root }).valid) failures++;
    verifyJson.push(performance.now() - t);
  }
  if (failures > 0) throw new Error(`${failures} proofs failed to verify during the benchmark`);

  const rangeGen: number[] = [];
  const rangeVerify: number[] = [];
  const rangeSizes: number[] = [];
  for (const at of positions(Math.max(1, tree.count - 100), Math.min(samples, 50))) {
    const start = tree.count > 0 ? (await tree.entryAt(at))![0] : utf8('a');
    const end = tree.count > 0 ? (await tree.entryAt(Math.min(tree.count - 1, at + 99)))![0] : utf8('b');
    let t = performance.now();
    const proof = await proveRange(tree, { start, end });
    rangeGen.push(performance.now() - t);
    rangeSizes.push(Buffer.byteLength(JSON.stringify(proof)));
    t = performance.now();
    if (!verifyRangeProof(proof, { root }).valid) throw new Error('a range proof failed to verify during the benchmark');
    rangeVerify.push(performance.now() - t);
  }

  return {
    proof_gen_ms: round3(median(gen)),
    proof_verify_ms: round3(median(verify)),
    proof_verify_json_ms: round3(median(verifyJson)),
    proof_bytes: median(sizes),
    proof_bytes_max: Math.max(...sizes),
    proof_node_bytes: median(nodeBytes),
    range100_gen_ms: round3(median(rangeGen)),
    range100_verify_ms: round3(median(rangeVerify)),
    range100_bytes: median(rangeSizes),
    tree_entries: tree.count,
    tree_height: tree.height,
    samples,
  };
}

/** The benchmark's standard tree: `n` keys "key-00000000"… with 100-byte values. */
export async function buildBenchTree(n: number): Promise<ProllyTree> {
  const nodes = new NodeStore(new MemoryStore(), { cacheBytes: 256 * 1024 * 1024 });
  function* entries(): Generator<[Uint8Array, Uint8Array]> {
    const value = new Uint8Array(100);
    for (let i = 0; i < n; i++) {
      value[0] = i & 0xff;
      value[1] = (i >>> 8) & 0xff;
      yield [utf8(`key-${String(i).padStart(8, '0')}`), value.slice()];
    }
  }
  return ProllyTree.fromSorted(nodes, entries());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 1_000_000);
  console.log(JSON.stringify(await benchProof(await buildBenchTree(n))));
}
