/**
 * IpfsStore behaviour that needs no IPFS node: CIDs, input validation before any RPC, and the error
 * for a node that is down. (Tests against a real node are in ipfs.slow.test.ts.)
 */
import { create } from 'kubo-rpc-client';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import type { Chunk } from '../../src/store/chunk-store.js';
import { IPFS_MAX_BLOCK_BYTES, IpfsStore, cidOfAddress } from '../../src/store/backends/ipfs-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { startCountingProxy, type CountingProxy } from '../setup/counting-proxy.js';
import { randomChunk } from '../store/conformance.js';

async function expectProllyError(p: Promise<unknown>, code: string): Promise<ProllyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(ProllyError);
  expect((err as ProllyError).code).toBe(code);
  return err as ProllyError;
}

async function freePortUrl(): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  return `http://127.0.0.1:${port}`;
}

describe('IpfsStore without a node', () => {
  let proxy: CountingProxy;
  let deadUrl: string;
  beforeAll(async () => {
    deadUrl = await freePortUrl();
    proxy = await startCountingProxy(deadUrl); // counts anything the store would send
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('the CID of an address is CIDv1 raw sha2-256 whose digest is the address', () => {
    const bytes = utf8('hello');
    const cid = cidOfAddress(sha256(bytes));
    // Known answer: `ipfs block put --cid-codec raw --mhtype sha2-256` of "hello".
    expect(cid.toString()).toBe('bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq');
    expect(cid.version).toBe(1);
    expect(cid.code).toBe(0x55);
    expect(toHex(cid.multihash.digest)).toBe(toHex(sha256(bytes)));
    expect(() => cidOfAddress(new Uint8Array(31))).toThrow(/32 bytes/);
  });

  it('rejects chunks over 1 MiB and chunks whose bytes do not hash to their address, before sending anything', async () => {
    const store = new IpfsStore({ client: create({ url: proxy.url }) });
    proxy.reset();
    const big = randomChunk(IPFS_MAX_BLOCK_BYTES + 1);
    const ok = randomChunk(100);
    const e1 = await expectProllyError(store.putMany([ok, big]), 'ECHUNKTOOLARGE');
    expect(e1.message).toContain(toHex(big.address));
    expect(e1.message).toContain(String(IPFS_MAX_BLOCK_BYTES));
    const liar: Chunk = { address: randomChunk(10).address, bytes: ok.bytes };
    await expectProllyError(store.put(liar), 'ECHUNKCORRUPT');
    await store.flush(); // nothing was accepted, so nothing to send
    expect(proxy.total).toBe(0);
    // Exactly 1 MiB is allowed (real Kubo's limit is inclusive).
    await store.put(randomChunk(IPFS_MAX_BLOCK_BYTES));
    expect(proxy.total).toBe(0); // buffered until flush
  });

  it('a node that is down gives an EBACKEND error naming the API URL, after retrying', async () => {
    const store = new IpfsStore({ client: create({ url: deadUrl }), retry: { attempts: 2, baseDelayMs: 5 } });
    expect(store.name).toBe(`ipfs:${deadUrl}/api/v0`);
    const e1 = await expectProllyError(store.get(randomChunk(10).address), 'EBACKEND');
    expect(e1.message).toContain(deadUrl);
    expect(e1.message).toMatch(/ECONNREFUSED|fetch failed/);
    const c = randomChunk(10);
    await store.put(c); // buffered: accepted
    const e2 = await expectProllyError(store.flush(), 'EBACKEND');
    expect(e2.message).toContain(deadUrl);
    expect(e2.message).toContain('dag/import');
    expect(store.stats.byMethod['dag/import']).toBe(2); // retried once
    // The chunk stays buffered (and readable) for a later flush.
    expect(toHex((await store.get(c.address))!)).toBe(toHex(c.bytes));
  });
});
