/**
 * IpfsStore against a real IPFS node (slow: js-ipfs pins ~150 blocks/s): the js-ipfs daemon from test/ipfs-daemon (one per run, via
 * test/setup/global-servers.ts) or a running Kubo named by PROLLY_TEST_IPFS_API. All IPFS tests live
 * in this one file because `list()` is node-wide: tests run one after another and each subtracts the
 * pins that existed before it started.
 */
import { create, type KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import type { ChunkStore } from '../../src/store/chunk-store.js';
import { IpfsStore, cidOfAddress } from '../../src/store/backends/ipfs-store.js';
import { toHex } from '../../src/util/bytes.js';
import { startCountingProxy, type CountingProxy } from '../setup/counting-proxy.js';
import { startIpfs, type RunningIpfs } from '../setup/ipfs.js';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { describeChunkStoreConformance, randomChunk } from '../store/conformance.js';

const skip = ipfsSkipReason();
if (skip) console.warn(`IPFS tier tests skipped: ${skip}`);

let node: { apiUrl: string; owned: boolean } | undefined;
let direct: KuboRPCClient;

async function setupNode() {
  node ??= await ipfsNode();
  direct ??= create({ url: node.apiUrl });
  return node;
}

async function pinnedRaw(): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const p of direct.pin.ls({ type: 'recursive' })) if (p.cid.code === 0x55) out.add(toHex(p.cid.multihash.digest));
  return out;
}

/**
 * The store under test, with `list()` minus the pins the node already had when the fixture was made
 * (the node is shared; list is node-wide by design). Everything else is the real store.
 */
function withoutBaseline(store: IpfsStore, baseline: Set<string>): ChunkStore {
  return {
    name: store.name,
    get: (a) => store.get(a),
    getMany: (a) => store.getMany(a),
    has: (a) => store.has(a),
    hasMany: (a) => store.hasMany(a),
    put: (c) => store.put(c),
    putMany: (c) => store.putMany(c),
    flush: () => store.flush(),
    close: () => store.close(),
    async *list() {
      for await (const a of store.list()) if (!baseline.has(toHex(a))) yield a;
    },
  };
}

async function expectProllyError(p: Promise<unknown>, code: string): Promise<ProllyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(ProllyError);
  expect((err as ProllyError).code).toBe(code);
  return err as ProllyError;
}

describe.skipIf(Boolean(skip))('IpfsStore', () => {
  describeChunkStoreConformance(
    'IpfsStore (IPFS node)',
    async () => {
      const { apiUrl } = await setupNode();
      const baseline = await pinnedRaw();
      const make = () => withoutBaseline(new IpfsStore({ client: create({ url: apiUrl }) }), baseline);
      return {
        store: make(),
        reopen: async () => make(),
        cleanup: async () => {
          // On a user's Kubo, remove the test's pins; a throwaway daemon is deleted after the run.
          if (node!.owned) return;
          const added = [...(await pinnedRaw())].filter((h) => !baseline.has(h));
          for await (const _ of direct.pin.rmAll(added.map((h) => ({ cid: cidOfAddress(Buffer.from(h, 'hex')) })))) void _;
        },
      };
    },
    { manyChunks: 600 },
  );

  describe('batching, pinning and failures', () => {
    let proxy: CountingProxy;
    beforeAll(async () => {
      const { apiUrl } = await setupNode();
      proxy = await startCountingProxy(apiUrl);
    });
    afterAll(async () => {
      await proxy?.stop();
    });
    const storeViaProxy = (opts: Partial<ConstructorParameters<typeof IpfsStore>[0]> = {}) =>
      new IpfsStore({ client: create({ url: proxy.url }), ...opts });

    it('pushing N chunks costs at most N/500 + 5 RPCs (CAR imports) and pins every block', async () => {
      const n = 1000;
      const chunks = Array.from({ length: n }, () => randomChunk(2048));
      const store = storeViaProxy();
      proxy.reset();
      for (let i = 0; i < n; i += 300) await store.putMany(chunks.slice(i, i + 300));
      await store.flush();
      expect(proxy.total).toBeLessThanOrEqual(n / 500 + 5);
      expect(proxy.byPath['/api/v0/dag/import']).toBe(Math.ceil(n / 500));
      expect(store.stats.rpcCalls).toBe(proxy.total);

      // Every block is pinned, so the node's garbage collection keeps it.
      const pins = await pinnedRaw();
      expect(chunks.every((c) => pins.has(toHex(c.address)))).toBe(true);
      const cold = storeViaProxy();
      proxy.reset();
      const sample = [chunks[0]!, chunks[567]!, chunks[n - 1]!];
      const got = await cold.getMany(sample.map((c) => c.address));
      got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(sample[i]!.bytes)));
      // A cold read checks the pin (an absent block would make block/get wait) then fetches.
      expect(proxy.byPath).toEqual({ '/api/v0/pin/ls': 3, '/api/v0/block/get': 3 });

      // hasMany over many addresses lists the pin set once instead of asking per address.
      proxy.reset();
      const fresh = storeViaProxy();
      const has = await fresh.hasMany([...chunks.map((c) => c.address), randomChunk(10).address]);
      expect(has.filter(Boolean)).toHaveLength(n);
      expect(has[n]).toBe(false);
      expect(proxy.total).toBe(1);
    });

    it("block mode puts each chunk with block/put --pin and checks the node's CID", async () => {
      const chunks = Array.from({ length: 12 }, () => randomChunk(700));
      const store = storeViaProxy({ uploadMode: 'block' });
      proxy.reset();
      await store.putMany(chunks);
      await store.flush();
      expect(proxy.byPath).toEqual({ '/api/v0/block/put': 12 });
      const pins = await pinnedRaw();
      expect(chunks.every((c) => pins.has(toHex(c.address)))).toBe(true);
      const cid = cidOfAddress(chunks[0]!.address);
      expect(cid.toString()).toMatch(/^bafkrei/);
      expect(toHex((await direct.block.get(cid)) as Uint8Array)).toBe(toHex(chunks[0]!.bytes));
    });

    it('bytes altered on the way back from the node are caught', async () => {
      const c = randomChunk(4000);
      const writer = storeViaProxy();
      await writer.put(c);
      await writer.flush();
      proxy.tamper = {
        path: '/api/v0/block/get',
        rewrite: (body) => {
          const copy = Buffer.from(body);
          copy[10]! ^= 1;
          return copy;
        },
      };
      try {
        const err = await expectProllyError(storeViaProxy().get(c.address), 'ECHUNKCORRUPT');
        expect(err.message).toContain(toHex(c.address));
      } finally {
        proxy.tamper = undefined;
      }
      expect(toHex((await storeViaProxy().get(c.address))!)).toBe(toHex(c.bytes));
    });

  });

  // Garbage collection runs on a private node: js-ipfs does not lock writes against gc, so collecting
  // the shared node would race the other test files writing to it.
  describe.skipIf(Boolean(process.env.PROLLY_TEST_IPFS_API))('garbage collection (private node)', () => {
    let own: RunningIpfs | undefined;
    afterAll(async () => {
      await own?.stop();
    });

    it("pushed blocks are pinned, so the node's garbage collection keeps them and drops unpinned ones", async () => {
      own = await startIpfs();
      const client = create({ url: own.apiUrl });
      const chunks = Array.from({ length: 50 }, () => randomChunk(1500));
      const store = new IpfsStore({ client });
      await store.putMany(chunks);
      await store.flush();
      // A block added without a pin is what gc must remove; it shows gc really ran.
      const loose = randomChunk(900);
      const looseCid = await client.block.put(loose.bytes, { format: 'raw', mhtype: 'sha2-256', pin: false });
      for await (const _ of client.repo.gc()) void _;
      const after = await new IpfsStore({ client }).getMany(chunks.map((c) => c.address));
      after.forEach((g, i) => expect(toHex(g!)).toBe(toHex(chunks[i]!.bytes)));
      // Compare by multihash: the node may list a block under another CID version or base.
      const kept = new Set<string>();
      for await (const r of client.refs.local()) kept.add(toHex(CID.parse(r.ref).multihash.digest));
      expect(kept.has(toHex(chunks[0]!.address))).toBe(true);
      expect(kept.has(toHex(looseCid.multihash.digest))).toBe(false);
    }, 180_000);
  });
});
