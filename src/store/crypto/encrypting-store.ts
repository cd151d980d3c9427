/**
 * Client-side encryption as a ChunkStore layer (ARCHITECTURE.md decision 10: below compression,
 * above placement). The layer below sees only opaque names and ciphertext:
 *
 * - a chunk with address A is stored under name N = PRP_key(A) (data-key.ts), never under A;
 * - its stored bytes are AES-256-GCM(A as associated data) of what the layer above handed down
 *   (compressed bytes when compression is on).
 *
 * Both are deterministic for a given data key, so the same chunk pushed twice, or by two clones,
 * gives the same name and ciphertext: the pack layer below dedups it and a re-push uploads nothing.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import { keyIdOf, type DataKey } from './data-key.js';
import type { Keyring } from './keyring.js';

const BATCH_BYTES = 1024 * 1024;
const BATCH_CHUNKS = 512;

export interface EncryptingStoreOptions {
  /** The store that receives names and ciphertext (e.g. a PackStore over S3). */
  inner: ChunkStore;
  keyring: Keyring;
  /** Name for error messages (default: the inner store's name). */
  name?: string;
}

/**
 * @example
 * const keyring = await Keyring.open({ store: new BackendKeyringStore(backend), master, create: true });
 * const store = new EncryptingStore({ inner: new PackStore({ backend }), keyring });
 * await store.put({ address, bytes }); await store.flush();
 */
export class EncryptingStore implements ChunkStore {
  readonly name: string;
  readonly inner: ChunkStore;
  readonly keyring: Keyring;
  readonly stats = { encrypted: 0, decrypted: 0, plainBytes: 0, storedBytes: 0 };

  constructor(opts: EncryptingStoreOptions) {
    this.inner = opts.inner;
    this.keyring = opts.keyring;
    this.name = opts.name ?? opts.inner.name;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.getMany([address]))[0];
  }

  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(addresses.length).fill(undefined);
    let pending = addresses.map((_, i) => i);
    // Active key first; older keys only for what is still missing (mid-rotation).
    for (const key of this.keyring.all) {
      if (pending.length === 0) break;
      const names = key.objectNames(pending.map((i) => addresses[i]!));
      const bodies = await this.inner.getMany(names);
      const still: number[] = [];
      pending.forEach((i, j) => {
        const body = bodies[j];
        if (body === undefined) {
          still.push(i);
          return;
        }
        out[i] = this.decrypt(addresses[i]!, body);
      });
      pending = still;
    }
    return out;
  }

  async has(address: Uint8Array): Promise<boolean> {
    return (await this.hasMany([address]))[0]!;
  }

  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    const out = new Array<boolean>(addresses.length).fill(false);
    let pending = addresses.map((_, i) => i);
    for (const key of this.keyring.all) {
      if (pending.length === 0) break;
      const found = await this.inner.hasMany(key.objectNames(pending.map((i) => addresses[i]!)));
      const still: number[] = [];
      pending.forEach((i, j) => (found[j] ? (out[i] = true) : still.push(i)));
      pending = still;
    }
    return out;
  }

  async put(chunk: Chunk): Promise<void> {
    await this.putMany([chunk]);
  }

  async putMany(chunks: readonly Chunk[]): Promise<void> {
    const key = this.keyring.active;
    // Encrypt and hand down in batches, so the layer below starts uploading packs while later
    // batches are still being encrypted instead of waiting for all of them.
    for (let start = 0; start < chunks.length; ) {
      let end = start;
      let bytes = 0;
      while (end < chunks.length && (end === start || (bytes < BATCH_BYTES && end - start < BATCH_CHUNKS))) bytes += chunks[end++]!.bytes.length;
      const batch = chunks.slice(start, end);
      const names = key.objectNames(batch.map((c) => c.address));
      const sealed: Chunk[] = batch.map((c, i) => {
        const body = key.encryptChunk(c.address, c.bytes);
        this.stats.encrypted++;
        this.stats.plainBytes += c.bytes.length;
        this.stats.storedBytes += body.length;
        return { address: names[i]!, bytes: body };
      });
      await this.inner.putMany(sealed);
      start = end;
    }
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /**
   * Chunk addresses, recovered from the stored names without downloading bodies. Mid-rotation
   * (several keys in the keyring) a name's key is unknown, so each body's header is read to learn it.
   */
  async *list(): AsyncIterable<Uint8Array> {
    const keys = this.keyring.all;
    if (keys.length === 1) {
      let batch: Uint8Array[] = [];
      for await (const name of this.inner.list()) {
        batch.push(name);
        if (batch.length >= 1024) {
          yield* keys[0]!.addressesOfNames(batch);
          batch = [];
        }
      }
      yield* keys[0]!.addressesOfNames(batch);
      return;
    }
    for await (const name of this.inner.list()) {
      const body = await this.inner.get(name);
      if (!body) continue;
      const key = this.keyring.byId(keyIdOf(body) ?? '');
      if (key) yield key.addressesOfNames([name])[0]!;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Addresses stored under `key` (the names it produced), for re-encryption. Reads each body header
   * when the keyring holds several keys.
   */
  async *listUnderKey(key: DataKey): AsyncIterable<Uint8Array> {
    const single = this.keyring.all.length === 1;
    for await (const name of this.inner.list()) {
      if (!single) {
        const body = await this.inner.get(name);
        if (!body || keyIdOf(body) !== key.idHex) continue;
      }
      yield key.addressesOfNames([name])[0]!;
    }
  }

  private decrypt(address: Uint8Array, body: Uint8Array): Uint8Array {
    const key = this.keyring.keyFor(body, `${this.name}: chunk ${toHex(address)}`);
    const plain = key.decryptChunk(address, body, this.name);
    this.stats.decrypted++;
    return plain;
  }
}

/**
 * True when `err` means "the key is wrong or missing" rather than "the data is bad".
 * @example if (isKeyError(e)) console.error('check GIT_PROLLY_ENCRYPTION_KEY');
 */
export function isKeyError(err: unknown): boolean {
  return err instanceof ProllyError && (err.code === ErrorCodes.KEY_WRONG || err.code === ErrorCodes.KEY_MISSING);
}
