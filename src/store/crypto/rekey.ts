/**
 * Key rotation (`git prolly storage rekey`), two ways:
 *
 * - re-wrap ({@link rewrapMasterKey}): a new master key wraps the same data keys. One small object
 *   is rewritten; data stays as it is. Use it for routine rotation or when people who knew the old
 *   master key leave but cannot have copied the keyring together with it.
 * - re-encrypt ({@link reencryptStore} / {@link reencryptPackRemote}): a new data key becomes active,
 *   every chunk is decrypted with the old key and written again under the new one (new names, new
 *   ciphertext), the old objects are deleted and the old key is retired from the keyring. Use it when
 *   a data key may have leaked. Stored bytes are copied in their stored form (still compressed).
 *
 * Re-encryption must not race other writers of the same remote: run it when nobody pushes.
 */
import type { ObjectBackend } from '../backends/object-backend.js';
import { MANIFEST_PREFIX } from '../pack/manifest.js';
import { PackStore, type PackStoreOptions } from '../pack/pack-store.js';
import type { DataKey } from './data-key.js';
import { EncryptingStore } from './encrypting-store.js';
import { Keyring, type KeyringStore } from './keyring.js';

/**
 * Re-wrap the keyring in `store` from `oldMaster` to `newMaster`. Throws EKEYWRONG when `oldMaster`
 * does not open it. Returns the data key ids it holds.
 * @example await rewrapMasterKey({ store, oldMaster, newMaster })
 */
export async function rewrapMasterKey(opts: { store: KeyringStore; oldMaster: Uint8Array; newMaster: Uint8Array; source?: string }): Promise<{ keyIds: string[] }> {
  const ring = await Keyring.open({ store: opts.store, master: opts.oldMaster, source: opts.source });
  await ring.rewrap(opts.newMaster);
  return { keyIds: ring.all.map((k) => k.idHex) };
}

export interface ReencryptResult {
  /** Chunks re-encrypted under the new key. */
  chunks: number;
  /** Stored bytes copied (ciphertext in). */
  bytes: number;
  oldKeyIds: string[];
  newKeyId: string;
}

/**
 * Re-encrypt every chunk of `store` under a new data key: add the key (making it active), copy each
 * chunk, flush, run `purge` (delete the old objects — how depends on the layer below), then retire
 * the old keys. Interrupted runs can be resumed: chunks already under the new key are skipped.
 *
 * @example await reencryptStore({ store: encrypting, purge: async () => deleteOldPacks() })
 */
export async function reencryptStore(opts: {
  store: EncryptingStore;
  purge?: () => Promise<void>;
  /** Runs after purge, before the old keys are retired (e.g. re-seal metadata under the new key). */
  beforeRetire?: () => Promise<void>;
  batchSize?: number;
}): Promise<ReencryptResult> {
  const { store } = opts;
  const ring = store.keyring;
  const batchSize = opts.batchSize ?? 512;
  // With one key every stored name inverts under it, so list before adding the new key.
  let oldKeys: DataKey[] = ring.all;
  let addresses: Uint8Array[] = [];
  if (oldKeys.length === 1) {
    for await (const a of store.list()) addresses.push(a);
    await ring.addKey();
  } else {
    // A resumed rotation: the active key is the new one; the rest are old.
    oldKeys = oldKeys.slice(1);
    for (const key of oldKeys) for await (const a of store.listUnderKey(key)) addresses.push(a);
  }
  const newKey = ring.active;
  let chunks = 0;
  let bytes = 0;
  for (let i = 0; i < addresses.length; i += batchSize) {
    const batch = addresses.slice(i, i + batchSize);
    const under = await store.inner.hasMany(newKey.objectNames(batch));
    const todo = batch.filter((_, j) => !under[j]);
    if (todo.length === 0) continue;
    const got = await store.getMany(todo);
    const copy = todo.flatMap((address, j) => (got[j] ? [{ address, bytes: got[j]! }] : []));
    await store.putMany(copy);
    chunks += copy.length;
    for (const c of copy) bytes += c.bytes.length;
  }
  await store.flush();
  if (opts.purge) await opts.purge();
  if (opts.beforeRetire) await opts.beforeRetire();
  addresses = [];
  for (const key of oldKeys) await ring.retire(key.idHex);
  return { chunks, bytes, oldKeyIds: oldKeys.map((k) => k.idHex), newKeyId: newKey.idHex };
}

/**
 * Re-encrypt a pack remote (a PackStore over `backend`, keyring in `keyring.store`): new packs and a
 * new manifest segment are written under the new key, then every pack and segment that existed
 * before is deleted.
 * @example await reencryptPackRemote({ backend, keyring })
 */
export async function reencryptPackRemote(opts: {
  backend: ObjectBackend;
  keyring: Keyring;
  packOptions?: Omit<PackStoreOptions, 'backend' | 'compactAfterSegments'>;
  /** Runs once the old objects are gone, before the old key is retired. */
  beforeRetire?: () => Promise<void>;
}): Promise<ReencryptResult & { objectsDeleted: number }> {
  const { backend } = opts;
  const before: string[] = [];
  for (const prefix of ['packs/', MANIFEST_PREFIX]) for await (const o of backend.list(prefix)) before.push(o.name);
  // No compaction while old and new segments coexist: a merged segment would keep the old packs listed.
  const pack = new PackStore({ ...opts.packOptions, backend, compactAfterSegments: 0 });
  const store = new EncryptingStore({ inner: pack, keyring: opts.keyring });
  let objectsDeleted = 0;
  const result = await reencryptStore({
    store,
    beforeRetire: opts.beforeRetire,
    purge: async () => {
      // Every pack and segment listed before holds old-key names only (new ones hash differently).
      for (const name of before) {
        await backend.delete(name);
        objectsDeleted++;
      }
    },
  });
  await pack.close();
  return { ...result, objectsDeleted };
}
