/**
 * FastCDC + SHA-256 throughput: the cost of turning a large value into addressed chunks, before any
 * storage I/O. Input is pseudo-random (no dedup shortcuts), generated once outside the timed region.
 *
 * @example
 * const { cdc_mb_s } = await benchCdc({ mib: 64 });
 */
import { pathToFileURL } from 'node:url';
import { fastCdcCut, FastCdcChunker } from '../src/blob/fastcdc.js';
import { pseudoRandomBytes } from '../src/blob/pseudo-random.js';
import { sha256 } from '../src/util/hash.js';

/** Figures from one benchmark run; MB is 10^6 bytes. */
export interface CdcBenchResult {
  /** FastCDC + SHA-256 of every chunk over one in-memory buffer (median of `runs`). */
  cdc_mb_s: number;
  /** Chunks the input was cut into. */
  chunks: number;
  /** Mean chunk length in bytes. */
  avg_chunk_bytes: number;
  /** FastCDC alone, no hashing (median). */
  cdc_only_mb_s: number;
  /** The streaming chunker fed 1 MiB pieces, + SHA-256 (median): what writeBlob does for streams. */
  stream_mb_s: number;
  mib: number;
  runs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (x: number): number => Math.round(x * 10) / 10;

/**
 * Run the benchmark over `mib` MiB (default 256), `runs` times each (default 5), and return medians.
 *
 * @example
 * console.log(JSON.stringify(await benchCdc()));
 */
export async function benchCdc(opts: { mib?: number; runs?: number } = {}): Promise<CdcBenchResult> {
  const mib = opts.mib ?? 256;
  const runs = opts.runs ?? 5;
  const data = pseudoRandomBytes('git-prolly bench cdc', mib * 1024 * 1024);
  const mb = data.length / 1e6;

  let chunks = 0;
  const timeIt = (fn: () => void): number => {
    const t0 = performance.now();
    fn();
    return mb / ((performance.now() - t0) / 1000);
  };
  const cdcOnly = (): void => {
    let n = 0;
    for (let pos = 0; pos < data.length; n++) pos += fastCdcCut(data, pos, data.length);
    chunks = n;
  };
  let sink = 0;
  const cdcAndHash = (): void => {
    for (let pos = 0; pos < data.length; ) {
      const len = fastCdcCut(data, pos, data.length);
      sink ^= sha256(data.subarray(pos, pos + len))[0]!;
      pos += len;
    }
  };
  const streaming = (): void => {
    const chunker = new FastCdcChunker();
    const piece = 1 << 20;
    for (let o = 0; o < data.length; o += piece) for (const c of chunker.push(data.subarray(o, o + piece))) sink ^= sha256(c)[0]!;
    for (const c of chunker.finish()) sink ^= sha256(c)[0]!;
  };

  cdcAndHash(); // warm-up: let V8 optimize the loop before timing
  const hashed: number[] = [];
  const only: number[] = [];
  const stream: number[] = [];
  for (let r = 0; r < runs; r++) {
    only.push(timeIt(cdcOnly));
    hashed.push(timeIt(cdcAndHash));
    stream.push(timeIt(streaming));
    await new Promise((resolve) => setImmediate(resolve)); // let other work in the process breathe
  }
  if (sink === -1) console.log(sink); // keeps the hashing observable so it is not optimized away
  return {
    cdc_mb_s: round(median(hashed)),
    chunks,
    avg_chunk_bytes: Math.round(data.length / chunks),
    cdc_only_mb_s: round(median(only)),
    stream_mb_s: round(median(stream)),
    mib,
    runs,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchCdc()));
}
