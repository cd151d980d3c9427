/**
 * ChunkStore over an IPFS node's RPC API (Kubo, or anything serving the same /api/v0) through an
 * injected kubo-rpc-client. Each chunk is one raw block whose CIDv1 (raw codec, sha2-256) carries
 * the chunk address as its multihash digest, so any IPFS node or gateway can serve and check it.
 *
 * Writes are buffered and sent in batches as one CAR per request (`dag/import`), with every block
 * listed as a root so the node pins it: about one RPC per 500 chunks, and the node's garbage
 * collection never drops what a pushed commit needs. `has` means "pinned on this node" as a
 * recursive pin (what IpfsStore creates); checking only those avoids walking every pinned DAG.
 * Blocks are limited to 1 MiB (real Kubo refuses larger ones), and chunk bytes must hash to their
 * address (the CID is derived from the bytes), so this tier stores canonical, uncompressed chunks.
 */
import type { KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { equalBytes, toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import { encodeCarV1 } from './car.js';
import { isTransientError, withRetry, type RetryPolicy } from './retry.js';
import { mapLimit } from './concurrency.js';

/** The RPC methods IpfsStore uses; a full `KuboRPCClient` satisfies it. */
export type IpfsRpcClient = Pick<KuboRPCClient, 'block' | 'dag' | 'pin' | 'getEndpointConfig'>;

/** Largest block real Kubo accepts. */
export const IPFS_MAX_BLOCK_BYTES = 1024 * 1024;
const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;

export interface IpfsStoreOptions {
  client: IpfsRpcClient;
  /** Chunks per CAR import (default 500). */
  batchChunks?: number;
  /** Bytes per CAR import (default 16 MiB). */
  batchBytes?: number;
  /**
   * 'car' (default): batches via `dag/import` with pinned roots. 'block': one `block/put --pin`
   * per chunk, checking the CID the node computed — for nodes without `dag/import`.
   */
  uploadMode?: 'car' | 'block';
  /** RPCs in flight at once for reads and pin checks (default 8). */
  concurrency?: number;
  /** hasMany over more addresses than this lists all pins in one RPC instead of one check each (default 64). */
  listAllPinsThreshold?: number;
  retry?: RetryPolicy;
}

/** RPC calls made, by API method, for tests and metrics. */
export interface IpfsStoreStats {
  rpcCalls: number;
  byMethod: Record<string, number>;
  blocksUploaded: number;
}

/**
 * The CIDv1 (raw, sha2-256) of a chunk address.
 * @example cidOfAddress(sha256(utf8('hi'))).toString() // 'bafkrei…'
 */
export function cidOfAddress(address: Uint8Array): CID {
  if (address.length !== ADDRESS_BYTES) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk address must be ${ADDRESS_BYTES} bytes, got ${address.length}`, {});
  }
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, address));
}

/**
 * ChunkStore tier on an IPFS node.
 *
 * @example
 * import { create } from 'kubo-rpc-client';
 * const store = new IpfsStore({ client: create({ url: 'http://127.0.0.1:5001' }) });
 * await store.putMany(chunks);
 * await store.flush(); // one dag/import per 500 chunks, all pinned
 */
export class IpfsStore implements ChunkStore {
  readonly name: string;
  readonly apiUrl: string;
  readonly stats: IpfsStoreStats = { rpcCalls: 0, byMethod: {}, blocksUploaded: 0 };
  private readonly client: IpfsRpcClient;
  private readonly batchChunks: number;
  private readonly batchBytes: number;
  private readonly uploadMode: 'car' | 'block';
  private readonly concurrency: number;
  private readonly listAllPinsThreshold: number;
  private readonly retry: RetryPolicy;
  /** Chunks accepted but not yet sent, in arrival order. */
  private pending = new Map<string, Chunk>();
  private pendingBytes = 0;
  /** Addresses known to be pinned (put by us or seen pinned), so reads skip the pin check. */
  private readonly pinned = new Set<string>();
  private uploading: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: IpfsStoreOptions) {
    this.client = opts.client;
    this.batchChunks = Math.max(1, opts.batchChunks ?? 500);
    this.batchBytes = opts.batchBytes ?? 16 * 1024 * 1024;
    this.uploadMode = opts.uploadMode ?? 'car';
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.listAllPinsThreshold = opts.listAllPinsThreshold ?? 64;
    this.retry = opts.retry ?? {};
    const ep = this.client.getEndpointConfig();
    this.apiUrl = `${ep.protocol}//${ep.host}${ep.port ? `:${ep.port}` : ''}${ep.pathname ?? ''}`;
    this.name = `ipfs:${this.apiUrl}`;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([address]))[0];
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    const out: (Uint8Array | undefined)[] = new Array(addresses.length).fill(undefined);
    const remote: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const p = this.pending.get(keyOf(addresses[i]!));
      if (p) out[i] = Uint8Array.from(p.bytes);
      else remote.push(i);
    }
    if (remote.length === 0) return out;
    // An absent block makes block/get wait for the network, so ask the pin set first.
    const present = await this.pinnedMany(remote.map((i) => addresses[i]!));
    const toFetch = remote.filter((_, k) => present[k]);
    await mapLimit(toFetch, this.concurrency, async (i) => {
      const address = addresses[i]!;
      const cid = cidOfAddress(address);
      const bytes = await this.rpc('block/get', `block ${cid}`, (signal) => this.client.block.get(cid, { signal }));
      if (!equalBytes(sha256(bytes), address)) {
        throw new ProllyError(
          ErrorCodes.CHUNK_CORRUPT,
          `IPFS node at ${this.apiUrl} returned bytes for block ${cid} (chunk ${toHex(address)}) that do not hash to it`,
          { backend: this.name, address: toHex(address), cid: cid.toString() },
        );
      }
      out[i] = bytes;
    });
    return out;
  }

  async has(address: Uint8Array): Promise<boolean> {
    return (await this.hasMany([address]))[0]!;
  }

  /** True for chunks pinned on the node (or accepted and not yet flushed). */
  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    this.check();
    const out = addresses.map((a) => this.pending.has(keyOf(a)));
    const remote = addresses.map((_, i) => i).filter((i) => !out[i]);
    const answers = await this.pinnedMany(remote.map((i) => addresses[i]!));
    remote.forEach((i, k) => (out[i] = answers[k]!));
    return out;
  }

  async put(chunk: Chunk): Promise<void> {
    await this.putMany([chunk]);
  }

  /** Validates every chunk first (size, hash), so a bad one rejects the call before anything is sent. */
  async putMany(chunks: readonly Chunk[]): Promise<void> {
    this.check();
    for (const c of chunks) {
      if (c.bytes.length > IPFS_MAX_BLOCK_BYTES) {
        throw new ProllyError(
          ErrorCodes.CHUNK_TOO_LARGE,
          `chunk ${toHex(c.address)} is ${c.bytes.length} bytes; IPFS blocks are limited to ${IPFS_MAX_BLOCK_BYTES} bytes`,
          { address: toHex(c.address), bytes: c.bytes.length, limit: IPFS_MAX_BLOCK_BYTES },
        );
      }
      if (!equalBytes(sha256(c.bytes), c.address)) {
        throw new ProllyError(
          ErrorCodes.CHUNK_CORRUPT,
          `chunk ${toHex(c.address)} does not hash to its address; the IPFS tier stores canonical chunk bytes (its CID is their hash)`,
          { address: toHex(c.address) },
        );
      }
    }
    for (const c of chunks) {
      const key = keyOf(c.address);
      if (this.pending.has(key) || this.pinned.has(key)) continue;
      this.pending.set(key, { address: Uint8Array.from(c.address), bytes: Uint8Array.from(c.bytes) });
      this.pendingBytes += c.bytes.length;
      if (this.pending.size >= this.batchChunks || this.pendingBytes >= this.batchBytes) await this.sendPending(false);
    }
  }

  async flush(): Promise<void> {
    this.check();
    await this.sendPending(true);
  }

  /** Every chunk pinned on the node as a raw sha2-256 CIDv1 (the node may hold others' pins too). */
  async *list(): AsyncIterable<Uint8Array> {
    this.check();
    const seen = new Set<string>();
    for (const c of this.pending.values()) {
      seen.add(keyOf(c.address));
      yield Uint8Array.from(c.address);
    }
    for (const address of await this.allPinnedAddresses()) {
      const key = keyOf(address);
      if (seen.has(key)) continue;
      seen.add(key);
      yield address;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  /** Send buffered chunks in batches; `all` sends a final partial batch too. */
  private sendPending(all: boolean): Promise<void> {
    const run = this.uploading.then(async () => {
      while (this.pending.size > 0 && (all || this.pending.size >= this.batchChunks || this.pendingBytes >= this.batchBytes)) {
        const batch: Chunk[] = [];
        let bytes = 0;
        for (const c of this.pending.values()) {
          if (batch.length >= this.batchChunks || (batch.length > 0 && bytes + c.bytes.length > this.batchBytes)) break;
          batch.push(c);
          bytes += c.bytes.length;
        }
        if (this.uploadMode === 'car') await this.importCar(batch);
        else await this.putBlocks(batch);
        // Only now, with the node's confirmation, do the chunks leave the buffer.
        for (const c of batch) {
          const key = keyOf(c.address);
          this.pending.delete(key);
          this.pendingBytes -= c.bytes.length;
          this.pinned.add(key);
        }
        this.stats.blocksUploaded += batch.length;
      }
    });
    this.uploading = run.catch(() => undefined);
    return run;
  }

  private async importCar(batch: readonly Chunk[]): Promise<void> {
    const cids = batch.map((c) => cidOfAddress(c.address));
    const pieces = encodeCarV1({ roots: cids.map((c) => c.bytes), blocks: batch.map((c, i) => ({ cid: cids[i]!.bytes, bytes: c.bytes })) });
    const roots = await this.rpc('dag/import', `CAR of ${batch.length} blocks`, async (signal) => {
      const found: { cid: CID; pinErrorMsg?: string }[] = [];
      for await (const r of this.client.dag.import(pieces, { pinRoots: true, signal })) found.push(r.root);
      return found;
    });
    const confirmed = new Set<string>();
    for (const r of roots) {
      if (r.pinErrorMsg) {
        throw this.fail('dag/import', `pinning ${r.cid}`, new Error(r.pinErrorMsg));
      }
      confirmed.add(r.cid.toString());
    }
    const missing = cids.find((c) => !confirmed.has(c.toString()));
    if (missing) throw this.fail('dag/import', `CAR of ${batch.length} blocks`, new Error(`node did not confirm pinning ${missing}`));
  }

  private async putBlocks(batch: readonly Chunk[]): Promise<void> {
    await mapLimit(batch, this.concurrency, async (c) => {
      const cid = await this.rpc('block/put', `chunk ${toHex(c.address)}`, (signal) =>
        this.client.block.put(c.bytes, { format: 'raw', mhtype: 'sha2-256', version: 1, pin: true, signal }),
      );
      if (cid.code !== RAW_CODEC || cid.multihash.code !== SHA2_256 || !equalBytes(cid.multihash.digest, c.address)) {
        throw new ProllyError(
          ErrorCodes.CHUNK_CORRUPT,
          `IPFS node at ${this.apiUrl} stored chunk ${toHex(c.address)} as ${cid}, whose digest is not the chunk address`,
          { backend: this.name, address: toHex(c.address), cid: cid.toString() },
        );
      }
    });
  }

  /** Which addresses are pinned: from memory, one pin/ls each, or one listing of all pins. */
  private async pinnedMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    const out = addresses.map((a) => this.pinned.has(keyOf(a)));
    const unknown = addresses.map((_, i) => i).filter((i) => !out[i]);
    if (unknown.length === 0) return out;
    if (unknown.length > this.listAllPinsThreshold) {
      const all = new Set((await this.allPinnedAddresses()).map(keyOf));
      for (const i of unknown) out[i] = all.has(keyOf(addresses[i]!));
    } else {
      await mapLimit(unknown, this.concurrency, async (i) => {
        out[i] = await this.isPinned(addresses[i]!);
      });
    }
    for (let i = 0; i < addresses.length; i++) if (out[i]) this.pinned.add(keyOf(addresses[i]!));
    return out;
  }

  private async isPinned(address: Uint8Array): Promise<boolean> {
    const cid = cidOfAddress(address);
    try {
      return await this.rpc('pin/ls', `pin of ${cid}`, async (signal) => {
        for await (const _ of this.client.pin.ls({ paths: [cid], type: 'recursive', signal })) return true;
        return false;
      });
    } catch (e) {
      if (e instanceof ProllyError && /not pinned/i.test(String((e.cause as Error | undefined)?.message))) return false;
      throw e;
    }
  }

  private async allPinnedAddresses(): Promise<Uint8Array[]> {
    return this.rpc('pin/ls', 'all pins', async (signal) => {
      const out: Uint8Array[] = [];
      for await (const p of this.client.pin.ls({ type: 'recursive', signal })) {
        const cid = p.cid;
        if (cid.version === 1 && cid.code === RAW_CODEC && cid.multihash.code === SHA2_256 && cid.multihash.digest.length === ADDRESS_BYTES) {
          out.push(Uint8Array.from(cid.multihash.digest));
        }
      }
      return out;
    });
  }

  /** One RPC with timeout, retries on transient failures, counting, and error mapping. */
  private async rpc<T>(method: string, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await withRetry(
        (signal) => {
          this.stats.rpcCalls++;
          this.stats.byMethod[method] = (this.stats.byMethod[method] ?? 0) + 1;
          return fn(signal);
        },
        {
          ...this.retry,
          // HTTP errors carry the node's verdict (e.g. "not pinned"); only network trouble is retried.
          isRetryable: (e) => !isHttpError(e) && isTransientError(e),
        },
      );
    } catch (e) {
      if (e instanceof ProllyError) throw e;
      throw this.fail(method, what, e);
    }
  }

  private fail(method: string, what: string, cause: unknown): ProllyError {
    const reason = describeError(cause);
    return new ProllyError(
      ErrorCodes.BACKEND,
      `IPFS node at ${this.apiUrl}: ${method} (${what}) failed: ${reason}`,
      { backend: this.name, url: this.apiUrl, method },
      { cause },
    );
  }

  private check(): void {
    if (this.closed) throw new ProllyError(ErrorCodes.CLOSED, `${this.name} store is closed`, { store: this.name });
  }
}

function keyOf(address: Uint8Array): string {
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
}

function isHttpError(e: unknown): boolean {
  return (e as { name?: string } | undefined)?.name === 'HTTPError';
}

function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const err = cur as { message?: string; code?: string };
    const text = [err.code, err.message ?? String(cur)].filter(Boolean).join(' ');
    if (text && !parts.includes(text)) parts.push(text);
  }
  return parts.join(': ') || 'unknown error';
}
