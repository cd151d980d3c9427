/**
 * Client encryption on the IPFS block tier, against the real IPFS node: blocks are ciphertext whose
 * CIDs are hashes of the ciphertext; no block is named by (or contains) a plaintext chunk address or
 * row; the name → CID index is sealed in the node's MFS; a re-push uploads nothing.
 */
import { create } from 'kubo-rpc-client';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ProllyError } from '../../src/errors.js';
import { IpfsStore, cidOfAddress } from '../../src/store/backends/ipfs-store.js';
import { CidMapStore } from '../../src/store/crypto/cid-map-store.js';
import { EncryptingStore } from '../../src/store/crypto/encrypting-store.js';
import { BackendKeyringStore, Keyring } from '../../src/store/crypto/keyring.js';
import { IpfsMfsBackend } from '../../src/store/erasure/ipfs-mfs-backend.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';

const root = `/prolly-enc-test-${randomBytes(4).toString('hex')}`;
let cleanup: (() => Promise<unknown>) | undefined;
afterAll(async () => {
  await cleanup?.();
});

describe.skipIf(ipfsSkipReason())('encrypted IPFS block tier', () => {
  it('stores ciphertext blocks under ciphertext CIDs, with a sealed index; reads back; dedups; wrong key refused', async () => {
    const client = create({ url: (await ipfsNode()).apiUrl });
    cleanup = () => client.files.rm(root, { recursive: true }).catch(() => undefined);
    const mfs = new IpfsMfsBackend({ client, root });
    const master = new Uint8Array(randomBytes(32));
    const open = async (m: Uint8Array, createRing = false) => {
      const keyring = await Keyring.open({ store: new BackendKeyringStore(mfs), master: m, create: createRing });
      const blocks = new IpfsStore({ client });
      const map = new CidMapStore({ blocks, index: mfs, sealer: keyring });
      return { keyring, blocks, map, store: new EncryptingStore({ inner: map, keyring }) };
    };
    const rows = Array.from({ length: 150 }, (_, i) => utf8(JSON.stringify({ ssn: `123-45-${String(i).padStart(4, '0')}`, name: `Jane Roe ${i}` })));
    const chunks = rows.map((bytes) => ({ address: sha256(bytes), bytes }));
    const a = await open(master, true);
    await a.store.putMany(chunks);
    await a.store.flush();

    for (const c of chunks.slice(0, 40)) {
      // No block is named by the plaintext address…
      const plainCid = cidOfAddress(c.address);
      const pinned = await (async () => {
        try {
          for await (const p of client.pin.ls({ paths: [plainCid] })) if (p.cid.equals(plainCid)) return true;
        } catch {
          return false;
        }
        return false;
      })();
      expect(pinned).toBe(false);
      // …the block that holds the chunk is ciphertext named by its own hash.
      const [name] = a.keyring.active.objectNames([c.address]);
      const digest = a.map.digestOf(name!)!;
      const block = await client.block.get(cidOfAddress(digest));
      expect(toHex(sha256(block))).toBe(toHex(digest));
      expect(Buffer.from(block).includes(Buffer.from('123-45-'))).toBe(false);
      expect(Buffer.from(block).includes(Buffer.from(c.address))).toBe(false);
    }
    // The index segments in MFS are sealed: no plaintext address inside.
    for await (const o of mfs.list('cidmap/')) {
      const seg = Buffer.from((await mfs.get(o.name))!);
      for (const c of chunks.slice(0, 40)) expect(seg.includes(Buffer.from(c.address))).toBe(false);
    }

    // A second clone reads everything with the key, and pushing the same chunks uploads nothing.
    const b = await open(master);
    const got = await b.store.getMany(chunks.map((c) => c.address));
    got.forEach((g, i) => expect(toHex(g!)).toBe(toHex(rows[i]!)));
    await b.store.putMany(chunks);
    await b.store.flush();
    expect(b.map.stats.blocksPut).toBe(0);
    expect(b.map.stats.segmentsWritten).toBe(0);

    const wrong = await open(new Uint8Array(randomBytes(32))).then(
      () => undefined,
      (e: unknown) => e as ProllyError,
    );
    expect(wrong?.code).toBe(ErrorCodes.KEY_WRONG);
  });
});
