/**
 * One data-encryption key (DEK) and everything derived from it with HKDF-SHA256:
 *
 * - `id` (8 bytes): names the key in every object header, so a reader picks the right key and a
 *   rotation can tell old objects from new ones.
 * - object names: a keyed pseudorandom permutation of the chunk address (a 4-round Feistel network
 *   over the two 16-byte halves, AES-256 as round function). Like an HMAC it reveals nothing about
 *   the address without the key; unlike an HMAC the key holder can invert it, so `list()` of an
 *   encrypted store still yields chunk addresses without downloading anything.
 * - chunk bodies: AES-256-GCM with a synthetic nonce = HMAC-SHA256(nonceKey, address ‖ bytes)[0..12)
 *   and the address as associated data. Encryption is deterministic (identical chunks give identical
 *   ciphertext, so dedup and idempotent re-push survive), and a nonce is only ever reused for the very
 *   same (address, bytes) pair, which GCM tolerates; different bytes under one address (a zstd upgrade
 *   that compresses differently) get a different nonce.
 * - sealing of small metadata (placement manifests): AES-256-GCM with a random nonce.
 *
 * Chunk body layout: version u8 = 1 | keyId[8] | nonce[12] | ciphertext | tag[16].
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { toHex } from '../../util/bytes.js';

export const DATA_KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Version byte of encrypted chunk bodies and sealed blobs. */
export const ENCRYPTED_FORMAT_VERSION = 1;
/** Bytes an encrypted chunk adds to the stored form: header (1 + 8 + 12) + GCM tag (16). */
export const ENCRYPTION_OVERHEAD = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
const HKDF_SALT = Buffer.from('git-prolly data key v1');
const CHUNK_AAD = Buffer.from('PRLYENC1');
const SEAL_AAD = Buffer.from('PRLYSEAL');
const FEISTEL_ROUNDS = 4;

function derive(dek: Uint8Array, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', dek, HKDF_SALT, Buffer.from(info), length));
}

/**
 * A data key with its derived subkeys.
 *
 * @example
 * const key = DataKey.generate();
 * const [name] = key.objectNames([address]);
 * const body = key.encryptChunk(address, bytes);
 * key.decryptChunk(address, body, 'test'); // bytes
 */
export class DataKey {
  /** 8-byte identifier derived from the key (not secret). */
  readonly id: Uint8Array;
  readonly idHex: string;
  private readonly raw: Uint8Array;
  // KeyObjects: node:crypto imports a raw key on every cipher/HMAC it creates; a KeyObject skips that.
  private readonly encKey: KeyObject;
  private readonly nonceKey: KeyObject;
  private readonly aadPrefix: Buffer;
  private readonly aad: Buffer;
  private readonly sealKey: Buffer;
  private readonly labelKey: Buffer;
  private readonly roundKeys: Buffer[];

  constructor(dek: Uint8Array) {
    if (dek.length !== DATA_KEY_BYTES) throw invalidArgument(`a data key is ${DATA_KEY_BYTES} bytes, got ${dek.length}`);
    this.raw = Uint8Array.from(dek);
    this.id = new Uint8Array(derive(dek, 'key id', KEY_ID_BYTES));
    this.idHex = toHex(this.id);
    this.encKey = createSecretKey(derive(dek, 'chunk encryption'));
    this.nonceKey = createSecretKey(derive(dek, 'chunk nonce'));
    this.aadPrefix = Buffer.concat([CHUNK_AAD, this.id]);
    this.aad = Buffer.alloc(this.aadPrefix.length + 32);
    this.aadPrefix.copy(this.aad);
    this.sealKey = derive(dek, 'metadata sealing');
    this.labelKey = derive(dek, 'object labels');
    this.roundKeys = Array.from({ length: FEISTEL_ROUNDS }, (_, i) => derive(dek, `object name round ${i}`));
  }

  /** A fresh random data key. */
  static generate(): DataKey {
    return new DataKey(randomBytes(DATA_KEY_BYTES));
  }

  /** The raw key bytes (for wrapping into a keyring only). */
  exportRaw(): Uint8Array {
    return Uint8Array.from(this.raw);
  }

  /**
   * Stored object names of chunk addresses (32 bytes each), computed in one batch: four AES-ECB
   * passes over all the halves at once.
   * @example const [name] = key.objectNames([address]);
   */
  objectNames(addresses: readonly Uint8Array[]): Uint8Array[] {
    return this.feistel(addresses, false);
  }

  /**
   * Chunk addresses of stored object names (the inverse of {@link objectNames}).
   * @example key.addressesOfNames(key.objectNames([a]))[0] // equals a
   */
  addressesOfNames(names: readonly Uint8Array[]): Uint8Array[] {
    return this.feistel(names, true);
  }

  /**
   * Encrypt a chunk's stored bytes (deterministic; see the module comment).
   * @example const body = key.encryptChunk(address, bytes);
   */
  encryptChunk(address: Uint8Array, bytes: Uint8Array): Uint8Array {
    const mac = createHmac('sha256', this.nonceKey).update(address).update(bytes).digest();
    const out = Buffer.allocUnsafe(HEADER_BYTES + bytes.length + TAG_BYTES);
    out[0] = ENCRYPTED_FORMAT_VERSION;
    out.set(this.id, 1);
    mac.copy(out, 1 + KEY_ID_BYTES, 0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, out.subarray(1 + KEY_ID_BYTES, HEADER_BYTES));
    cipher.setAAD(this.chunkAad(address));
    const n = cipher.update(bytes).copy(out, HEADER_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER_BYTES + n);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /**
   * Decrypt and authenticate a chunk body. A body that fails authentication (tampered with, or
   * damaged) throws ECHUNKCORRUPT naming the chunk and `source`.
   * @example key.decryptChunk(address, body, 's3://bucket/prefix')
   */
  decryptChunk(address: Uint8Array, body: Uint8Array, source: string): Uint8Array {
    checkHeader(body, source, `chunk ${toHex(address)}`);
    if (!equalId(body, this.id)) {
      throw new ProllyError(ErrorCodes.KEY_WRONG, `${source}: chunk ${toHex(address)} is encrypted under key ${keyIdOf(body)}, not ${this.idHex}`, {
        address: toHex(address),
        keyId: keyIdOf(body),
        source,
      });
    }
    const nonce = body.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, nonce);
    decipher.setAAD(this.chunkAad(address));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = decipher.update(body.subarray(HEADER_BYTES, body.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      throw new ProllyError(
        ErrorCodes.CHUNK_CORRUPT,
        `${source}: encrypted chunk ${toHex(address)} failed authentication: it was tampered with or damaged`,
        { address: toHex(address), source, reason: 'authentication' },
      );
    }
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  }

  /**
   * Encrypt metadata with a random nonce (not deterministic). `context` is bound as associated data.
   * @example const sealed = key.seal(bytes, 'placement'); key.open(sealed, 'placement', 'x')
   */
  seal(plain: Uint8Array, context: string): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, nonce);
    cipher.setAAD(Buffer.concat([SEAL_AAD, this.id, Buffer.from(context)]));
    const ct = cipher.update(plain);
    cipher.final();
    const out = Buffer.concat([Buffer.from([ENCRYPTED_FORMAT_VERSION]), this.id, nonce, ct, cipher.getAuthTag()]);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Decrypt what {@link seal} produced; ECHUNKCORRUPT when it fails authentication. */
  open(sealed: Uint8Array, context: string, source: string): Uint8Array {
    checkHeader(sealed, source, 'sealed object');
    if (!equalId(sealed, this.id)) {
      throw new ProllyError(ErrorCodes.KEY_WRONG, `${source} is sealed under key ${keyIdOf(sealed)}, not ${this.idHex}`, { keyId: keyIdOf(sealed), source });
    }
    const decipher = createDecipheriv('aes-256-gcm', this.sealKey, sealed.subarray(1 + KEY_ID_BYTES, HEADER_BYTES));
    decipher.setAAD(Buffer.concat([SEAL_AAD, this.id, Buffer.from(context)]));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${source} failed authentication: it was tampered with or damaged`, { source, reason: 'authentication' });
    }
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  }

  /**
   * A keyed label (HMAC-SHA256) of `parts`, for opaque object names that only key holders can link.
   * @example toHex(key.label('shard', 'packs/ab.pack', '3')).slice(0, 32)
   */
  label(...parts: string[]): Uint8Array {
    const h = createHmac('sha256', this.labelKey);
    for (const p of parts) h.update(Buffer.from(`${p.length}:${p};`));
    return new Uint8Array(h.digest());
  }

  /** Associated data of a chunk, in a scratch buffer: setAAD copies it at once, so one buffer serves every call. */
  private chunkAad(address: Uint8Array): Buffer {
    if (address.length !== 32) return Buffer.concat([this.aadPrefix, address]);
    this.aad.set(address, this.aadPrefix.length);
    return this.aad;
  }

  private feistel(inputs: readonly Uint8Array[], inverse: boolean): Uint8Array[] {
    const n = inputs.length;
    if (n === 0) return [];
    const left = Buffer.allocUnsafe(n * 16);
    const right = Buffer.allocUnsafe(n * 16);
    for (let i = 0; i < n; i++) {
      const a = inputs[i]!;
      if (a.length !== 32) throw invalidArgument(`chunk address must be 32 bytes, got ${a.length}`);
      left.set(a.subarray(0, 16), i * 16);
      right.set(a.subarray(16, 32), i * 16);
    }
    // Forward round r: (L, R) → (R, L ⊕ F_r(R)). Inverse round r (r descending): (L, R) → (R ⊕ F_r(L), L).
    let l = left;
    let r = right;
    for (let step = 0; step < FEISTEL_ROUNDS; step++) {
      const round = inverse ? FEISTEL_ROUNDS - 1 - step : step;
      const cipher = createCipheriv('aes-256-ecb', this.roundKeys[round]!, null);
      cipher.setAutoPadding(false);
      if (!inverse) {
        const f = cipher.update(r);
        for (let i = 0; i < l.length; i++) l[i]! ^= f[i]!;
        [l, r] = [r, l];
      } else {
        const f = cipher.update(l);
        for (let i = 0; i < r.length; i++) r[i]! ^= f[i]!;
        [l, r] = [r, l];
      }
    }
    const out: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const name = new Uint8Array(32);
      name.set(l.subarray(i * 16, i * 16 + 16), 0);
      name.set(r.subarray(i * 16, i * 16 + 16), 16);
      out[i] = name;
    }
    return out;
  }
}

/**
 * The key id (hex) in an encrypted body's header, or undefined when it has no valid header.
 * @example keyIdOf(key.encryptChunk(a, b)) === key.idHex
 */
export function keyIdOf(body: Uint8Array): string | undefined {
  if (body.length < HEADER_BYTES + TAG_BYTES || body[0] !== ENCRYPTED_FORMAT_VERSION) return undefined;
  return toHex(body.subarray(1, 1 + KEY_ID_BYTES));
}

function equalId(body: Uint8Array, id: Uint8Array): boolean {
  for (let i = 0; i < KEY_ID_BYTES; i++) if (body[1 + i] !== id[i]) return false;
  return true;
}

function checkHeader(body: Uint8Array, source: string, what: string): void {
  if (body.length < HEADER_BYTES + TAG_BYTES) {
    throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${source}: ${what} is ${body.length} bytes, too short to be encrypted`, { source, reason: 'truncated' });
  }
  if (body[0] !== ENCRYPTED_FORMAT_VERSION) {
    throw new ProllyError(
      ErrorCodes.CHUNK_CORRUPT,
      `${source}: ${what} is not encrypted by git-prolly (format byte ${body[0]}): is client_encryption on for an unencrypted remote?`,
      { source, reason: 'format' },
    );
  }
}
