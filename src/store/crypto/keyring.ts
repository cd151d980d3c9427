/**
 * The keyring: data keys (DEKs) wrapped under the master key, stored next to the encrypted data
 * (it holds nothing secret without the master key). Two-level keys make rotation cheap: `rewrap`
 * changes the master key by rewriting only this small object, while `addKey` + re-encryption
 * (rekey.ts) replaces the data key itself when it may have leaked.
 *
 * Stored form (UTF-8 JSON):
 *   { "format": "git-prolly-keyring", "version": 1, "revision": n,
 *     "check": base64(16-byte key-check value of the master key),
 *     "active": "<key id hex>",
 *     "keys": [{ "id": "<hex>", "wrapped": base64(nonce ‖ AES-256-GCM(kek, dek) ‖ tag), "created": ISO date }] }
 *
 * The key-check value (HMAC of a fixed string under a key derived from the master key) tells a wrong
 * master key (EKEYWRONG) apart from a damaged or tampered keyring (ECHUNKCORRUPT) without trying to
 * decrypt data.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import { DataKey, keyIdOf } from './data-key.js';
import { MASTER_KEY_BYTES } from './key-provider.js';

const KEYRING_FORMAT = 'git-prolly-keyring';
const KEYRING_VERSION = 1;
const SALT = Buffer.from('git-prolly keyring v1');
/** Object name of the keyring on a backend. */
export const KEYRING_OBJECT = 'keys/keyring.json';

/** Where a keyring is kept. */
export interface KeyringStore {
  readonly name: string;
  /** The stored keyring bytes, or undefined when there is none yet. */
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

/**
 * A keyring kept as one object on a backend (`keys/keyring.json`).
 * @example new BackendKeyringStore(new DirectoryBackend({ root }))
 */
export class BackendKeyringStore implements KeyringStore {
  readonly name: string;
  constructor(
    private readonly backend: ObjectBackend,
    private readonly object = KEYRING_OBJECT,
  ) {
    this.name = `${backend.name}/${object}`;
  }
  load(): Promise<Uint8Array | undefined> {
    return this.backend.get(this.object);
  }
  save(bytes: Uint8Array): Promise<void> {
    return this.backend.put(this.object, bytes, { contentType: 'application/json' });
  }
}

/**
 * A keyring copied to several backends (erasure / replicate placements, where no single backend is
 * trusted to stay up). `load` takes the highest revision that any reachable copy holds; `save`
 * succeeds when at least `quorum` copies were written.
 * @example new ReplicatedKeyringStore({ backends, quorum: 5 })
 */
export class ReplicatedKeyringStore implements KeyringStore {
  readonly name: string;
  private readonly backends: readonly ObjectBackend[];
  private readonly quorum: number;

  constructor(opts: { backends: readonly ObjectBackend[]; quorum?: number }) {
    this.backends = opts.backends;
    this.quorum = Math.min(opts.quorum ?? opts.backends.length, opts.backends.length);
    this.name = `keyring on ${opts.backends.length} backends`;
  }

  async load(): Promise<Uint8Array | undefined> {
    const copies = await Promise.all(this.backends.map((b) => b.get(KEYRING_OBJECT).catch(() => undefined)));
    let best: { bytes: Uint8Array; revision: number } | undefined;
    for (const bytes of copies) {
      if (!bytes) continue;
      const revision = revisionOf(bytes);
      if (revision !== undefined && (!best || revision > best.revision)) best = { bytes, revision };
    }
    return best?.bytes;
  }

  async save(bytes: Uint8Array): Promise<void> {
    const results = await Promise.allSettled(this.backends.map((b) => b.put(KEYRING_OBJECT, bytes, { contentType: 'application/json' })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    if (ok < this.quorum) {
      const reasons = results.flatMap((r, i) => (r.status === 'rejected' ? [`${this.backends[i]!.name}: ${String((r.reason as Error)?.message ?? r.reason)}`] : []));
      throw new ProllyError(ErrorCodes.WRITE_QUORUM, `keyring written to ${ok} of ${this.backends.length} backends, quorum is ${this.quorum}: ${reasons.join('; ')}`, {
        written: ok,
        quorum: this.quorum,
      });
    }
  }
}

interface KeyringJson {
  format: string;
  version: number;
  revision: number;
  check: string;
  active: string;
  keys: { id: string; wrapped: string; created: string }[];
}

function revisionOf(bytes: Uint8Array): number | undefined {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<KeyringJson>;
    return j.format === KEYRING_FORMAT && typeof j.revision === 'number' ? j.revision : undefined;
  } catch {
    return undefined;
  }
}

function kekOf(master: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', master, SALT, Buffer.from('wrap'), 32));
}

/**
 * Key-check value of a master key: lets a reader say "wrong key" instead of "corrupt data".
 * @example toHex(keyCheckValue(master)).length // 32
 */
export function keyCheckValue(master: Uint8Array): Uint8Array {
  const k = Buffer.from(hkdfSync('sha256', master, SALT, Buffer.from('check'), 32));
  return new Uint8Array(createHmac('sha256', k).update('git-prolly key check').digest().subarray(0, 16));
}

/**
 * Data keys unwrapped from a keyring, with the active one used for new writes.
 *
 * @example
 * const keyring = await Keyring.open({ store, master, create: true });
 * keyring.active.encryptChunk(address, bytes);
 * await keyring.rewrap(newMaster); // master key rotation: no data rewritten
 */
export class Keyring {
  readonly store: KeyringStore;
  private master: Uint8Array;
  private keys: Map<string, { key: DataKey; created: string }>;
  private activeId: string;
  private revision: number;

  private constructor(store: KeyringStore, master: Uint8Array, keys: Map<string, { key: DataKey; created: string }>, activeId: string, revision: number) {
    this.store = store;
    this.master = master;
    this.keys = keys;
    this.activeId = activeId;
    this.revision = revision;
  }

  /**
   * Open the keyring in `store` with `master`. When there is none and `create` is set, a new data key
   * is generated and the keyring saved. Errors: EKEYWRONG (the master key's check value does not
   * match), ECHUNKCORRUPT (a damaged or tampered keyring), ECHUNKMISSING (no keyring, `create` unset).
   */
  static async open(opts: { store: KeyringStore; master: Uint8Array; create?: boolean; source?: string }): Promise<Keyring> {
    if (opts.master.length !== MASTER_KEY_BYTES) {
      throw new ProllyError(ErrorCodes.BAD_KEY, `a master key is ${MASTER_KEY_BYTES} bytes, got ${opts.master.length}`, {});
    }
    const bytes = await opts.store.load();
    if (!bytes) {
      if (!opts.create) {
        throw new ProllyError(ErrorCodes.CHUNK_MISSING, `${opts.store.name}: no keyring: nothing was pushed with client encryption here`, { keyring: opts.store.name });
      }
      const key = DataKey.generate();
      const ring = new Keyring(opts.store, Uint8Array.from(opts.master), new Map([[key.idHex, { key, created: new Date().toISOString() }]]), key.idHex, 0);
      await ring.save();
      return ring;
    }
    return Keyring.decode(bytes, opts.store, opts.master, opts.source);
  }

  private static decode(bytes: Uint8Array, store: KeyringStore, master: Uint8Array, source?: string): Keyring {
    const where = store.name;
    const corrupt = (what: string) => new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${where}: keyring ${what}`, { keyring: where });
    let j: KeyringJson;
    try {
      j = JSON.parse(Buffer.from(bytes).toString('utf8')) as KeyringJson;
    } catch {
      throw corrupt('is not valid JSON');
    }
    if (j.format !== KEYRING_FORMAT || j.version !== KEYRING_VERSION || !Array.isArray(j.keys) || typeof j.check !== 'string') {
      throw corrupt(`has an unknown format (${JSON.stringify(j.format)} v${String(j.version)})`);
    }
    const expected = Buffer.from(keyCheckValue(master));
    const stored = Buffer.from(j.check, 'base64');
    if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) {
      throw new ProllyError(
        ErrorCodes.KEY_WRONG,
        `the encryption key${source ? ` from ${source}` : ''} is not the key this remote was encrypted with (key check failed for ${where})`,
        { keyring: where, provider: source },
      );
    }
    const kek = kekOf(master);
    const keys = new Map<string, { key: DataKey; created: string }>();
    for (const entry of j.keys) {
      const wrapped = Buffer.from(entry.wrapped, 'base64');
      if (wrapped.length !== 12 + 32 + 16) throw corrupt(`entry ${entry.id} has a bad length`);
      const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, 12));
      d.setAAD(Buffer.from(`git-prolly keyring v1 ${entry.id}`));
      d.setAuthTag(wrapped.subarray(44));
      const dek = d.update(wrapped.subarray(12, 44));
      try {
        d.final();
      } catch {
        throw corrupt(`entry ${entry.id} failed authentication: the keyring was tampered with or damaged`);
      }
      const key = new DataKey(dek);
      if (key.idHex !== entry.id) throw corrupt(`entry ${entry.id} holds a key whose id is ${key.idHex}`);
      keys.set(key.idHex, { key, created: entry.created });
    }
    if (!keys.has(j.active)) throw corrupt(`names active key ${j.active}, which it does not hold`);
    return new Keyring(store, Uint8Array.from(master), keys, j.active, j.revision);
  }

  /** The key new data is encrypted with. */
  get active(): DataKey {
    return this.keys.get(this.activeId)!.key;
  }

  /** Every key in the keyring, active first. */
  get all(): DataKey[] {
    return [this.active, ...[...this.keys.values()].map((e) => e.key).filter((k) => k.idHex !== this.activeId)];
  }

  /** The key with this id (hex), or undefined. */
  byId(idHex: string): DataKey | undefined {
    return this.keys.get(idHex)?.key;
  }

  /**
   * The key an encrypted body or sealed blob names in its header. EKEYWRONG when the keyring does
   * not hold it (encrypted by another repository's key, or a key retired by a rekey).
   */
  keyFor(body: Uint8Array, what: string): DataKey {
    const id = keyIdOf(body);
    if (id === undefined) {
      throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${what} has no encryption header: is client_encryption on for an unencrypted remote?`, { reason: 'format' });
    }
    const key = this.keys.get(id);
    if (!key) {
      throw new ProllyError(ErrorCodes.KEY_WRONG, `${what} is encrypted under key ${id}, which the keyring ${this.store.name} does not hold (keys: ${[...this.keys.keys()].join(', ')})`, {
        keyId: id,
      });
    }
    return key.key;
  }

  /** Seal metadata under the active key (random nonce). */
  seal(plain: Uint8Array, context: string): Uint8Array {
    return this.active.seal(plain, context);
  }

  /** Open sealed metadata with whichever key sealed it. */
  open(sealed: Uint8Array, context: string, source: string): Uint8Array {
    return this.keyFor(sealed, source).open(sealed, context, source);
  }

  /** A keyed label under the active key (opaque object names; see DataKey.label). */
  label(...parts: string[]): Uint8Array {
    return this.active.label(...parts);
  }

  /** Master-key rotation: wrap every data key under `newMaster` and save. No data is rewritten. */
  async rewrap(newMaster: Uint8Array): Promise<void> {
    if (newMaster.length !== MASTER_KEY_BYTES) throw new ProllyError(ErrorCodes.BAD_KEY, `a master key is ${MASTER_KEY_BYTES} bytes, got ${newMaster.length}`, {});
    this.master = Uint8Array.from(newMaster);
    await this.save();
  }

  /** Generate a new data key, make it active, and save. Returns it. */
  async addKey(): Promise<DataKey> {
    const key = DataKey.generate();
    this.keys.set(key.idHex, { key, created: new Date().toISOString() });
    this.activeId = key.idHex;
    await this.save();
    return key;
  }

  /** Drop a (non-active) data key once nothing is encrypted under it any more, and save. */
  async retire(idHex: string): Promise<void> {
    if (idHex === this.activeId) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `cannot retire the active key ${idHex}`, { keyId: idHex });
    if (!this.keys.delete(idHex)) return;
    await this.save();
  }

  /** Encode and store the keyring (revision + 1). */
  async save(): Promise<void> {
    this.revision++;
    const kek = kekOf(this.master);
    const keys = [...this.keys.entries()].map(([id, { key, created }]) => {
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', kek, nonce);
      c.setAAD(Buffer.from(`git-prolly keyring v1 ${id}`));
      const ct = c.update(key.exportRaw());
      c.final();
      return { id, wrapped: Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64'), created };
    });
    const j: KeyringJson = {
      format: KEYRING_FORMAT,
      version: KEYRING_VERSION,
      revision: this.revision,
      check: Buffer.from(keyCheckValue(this.master)).toString('base64'),
      active: this.activeId,
      keys,
    };
    await this.store.save(new Uint8Array(Buffer.from(JSON.stringify(j, null, 2) + '\n')));
  }
}
