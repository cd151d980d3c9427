/**
 * SSHSIG detached signatures (OpenSSH PROTOCOL.sshsig), the format `ssh-keygen -Y sign` writes and
 * git uses for `gpg.format=ssh`. Ed25519 signing is deterministic, so for the same key, namespace,
 * hash and message this produces the same bytes as ssh-keygen.
 *
 * Blob:        "SSHSIG" uint32 1  string publickey  string namespace  string reserved("")
 *              string hash_algorithm  string signature
 * Signed data: "SSHSIG" string namespace  string reserved("")  string hash_algorithm  string H(message)
 * Armor:       `-----BEGIN SSH SIGNATURE-----`, base64 in 70-column lines, `-----END SSH SIGNATURE-----`.
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import {
  ED25519_KEY_TYPE,
  ed25519KeyObject,
  ed25519RawPublicKey,
  sameSshPublicKey,
  sshPublicKeyOf,
  type SshEd25519PrivateKey,
  type SshPublicKey,
} from './ssh-key.js';
import { SshReader, SshWireError, SshWriter, dearmor, wrapBase64 } from './ssh-wire.js';

/** Hash algorithms PROTOCOL.sshsig allows for H(message). */
export type SshsigHashAlgorithm = 'sha256' | 'sha512';

const MAGIC = new TextEncoder().encode('SSHSIG');
const VERSION = 1;
const LABEL = 'SSH SIGNATURE';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The fields of a decoded SSHSIG blob. */
export interface SshsigParts {
  publicKey: SshPublicKey;
  namespace: string;
  reserved: Uint8Array;
  hashAlgorithm: string;
  /** The signature's algorithm name (e.g. 'ssh-ed25519'). */
  signatureAlgorithm: string;
  /** The raw signature bytes inside the signature string (64 bytes for Ed25519). */
  signatureBytes: Uint8Array;
}

/** What verifySshsig found. `reason` says why when `valid` is false, and 'good signature' otherwise. */
export interface SshsigVerification {
  valid: boolean;
  /** The key the signature says it was made with, when the signature decoded that far. */
  publicKey?: SshPublicKey;
  namespace?: string;
  hashAlgorithm?: string;
  reason: string;
}

// Building a KeyObject costs more than an Ed25519 signature; reuse them per key.
const privateKeyObjects = new WeakMap<SshEd25519PrivateKey, KeyObject>();
const publicKeyObjects = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE_MAX = 256;

function privateKeyObject(key: SshEd25519PrivateKey): KeyObject {
  let ko = privateKeyObjects.get(key);
  if (!ko) {
    ko = ed25519KeyObject(key.seed);
    privateKeyObjects.set(key, ko);
  }
  return ko;
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  const id = toHex(raw);
  let ko = publicKeyObjects.get(id);
  if (!ko) {
    ko = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeyObjects.size >= PUBLIC_KEY_CACHE_MAX) publicKeyObjects.delete(publicKeyObjects.keys().next().value!);
    publicKeyObjects.set(id, ko);
  }
  return ko;
}

function messageBytes(message: Uint8Array | string): Uint8Array {
  return typeof message === 'string' ? new TextEncoder().encode(message) : message;
}

function checkHashAlgorithm(name: string): asserts name is SshsigHashAlgorithm {
  if (name !== 'sha256' && name !== 'sha512') throw invalidArgument(`SSHSIG hash algorithm must be sha256 or sha512, got ${JSON.stringify(name)}`);
}

/** The bytes the signature algorithm actually signs (PROTOCOL.sshsig §"Signed Data"). */
function signedData(namespace: string, hashAlgorithm: SshsigHashAlgorithm, message: Uint8Array): Uint8Array {
  const digest = createHash(hashAlgorithm).update(message).digest();
  return new SshWriter().raw(MAGIC).string(namespace).string('').string(hashAlgorithm).string(digest).finish();
}

/**
 * Sign `message` in `namespace` ("git" for commits) and return the armored signature, byte-for-byte
 * what `ssh-keygen -Y sign -n <namespace> -f <key>` writes (ending in a newline).
 * @example const sig = signSshsig({ privateKey: key, namespace: 'git', message: payload });
 */
export function signSshsig(options: {
  privateKey: SshEd25519PrivateKey;
  namespace: string;
  message: Uint8Array | string;
  hashAlgorithm?: SshsigHashAlgorithm;
}): string {
  const { privateKey, namespace, hashAlgorithm = 'sha512' } = options;
  if (!namespace) throw invalidArgument('SSHSIG namespace must not be empty (git uses "git")');
  checkHashAlgorithm(hashAlgorithm);
  const data = signedData(namespace, hashAlgorithm, messageBytes(options.message));
  const rawSignature = cryptoSign(null, data, privateKeyObject(privateKey));
  const signature = new SshWriter().string(ED25519_KEY_TYPE).string(rawSignature).finish();
  const blob = new SshWriter()
    .raw(MAGIC)
    .uint32(VERSION)
    .string(sshPublicKeyOf(privateKey).blob)
    .string(namespace)
    .string('')
    .string(hashAlgorithm)
    .string(signature)
    .finish();
  return `-----BEGIN ${LABEL}-----\n${wrapBase64(blob, 70)}\n-----END ${LABEL}-----\n`;
}

/**
 * Decode an armored SSHSIG signature without checking it. Throws EBADENCODING on malformed input.
 * @example parseSshsig(sig).namespace // 'git'
 */
export function parseSshsig(signature: string | Uint8Array): SshsigParts {
  const text = typeof signature === 'string' ? signature : new TextDecoder().decode(signature);
  const bad = (detail: string) => new ProllyError(ErrorCodes.BAD_ENCODING, `not an SSH signature: ${detail}`);
  const blob = dearmor(text, LABEL);
  if (!blob) throw bad(`missing "-----BEGIN ${LABEL}-----" … "-----END ${LABEL}-----" block, or its body is not base64`);
  try {
    const r = new SshReader(blob);
    if (!equalBytes(r.readBytes(MAGIC.length), MAGIC)) throw bad('missing "SSHSIG" magic');
    const version = r.readUint32();
    if (version !== VERSION) throw bad(`unsupported SSHSIG version ${version}`);
    const keyBlob = r.readString();
    const namespace = r.readUtf8();
    const reserved = r.readString();
    const hashAlgorithm = r.readUtf8();
    const sig = new SshReader(r.readString());
    if (r.remaining !== 0) throw bad(`${r.remaining} trailing bytes`);
    const signatureAlgorithm = sig.readUtf8();
    const signatureBytes = sig.readString();
    if (sig.remaining !== 0) throw bad('trailing bytes inside the signature');
    const keyType = new SshReader(keyBlob).readUtf8();
    return { publicKey: { type: keyType, blob: keyBlob }, namespace, reserved, hashAlgorithm, signatureAlgorithm, signatureBytes };
  } catch (e) {
    if (e instanceof SshWireError) throw bad(e.message);
    throw e;
  }
}

/**
 * Check an armored SSHSIG signature over `message` in `namespace`. Never throws on bad input: a
 * malformed, wrong-namespace, wrong-key or forged signature gives `valid: false` and a reason.
 * Pass `publicKey` to require that particular key; whether the key is trusted for a principal is
 * the allowed-signers file's business (see allowed-signers.ts).
 * @example verifySshsig({ signature, message, namespace: 'git' }).valid
 */
export function verifySshsig(options: {
  signature: string | Uint8Array;
  message: Uint8Array | string;
  namespace: string;
  publicKey?: SshPublicKey;
}): SshsigVerification {
  let parts: SshsigParts;
  try {
    parts = parseSshsig(options.signature);
  } catch (e) {
    return { valid: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const { publicKey, namespace, hashAlgorithm } = parts;
  const result = (valid: boolean, reason: string): SshsigVerification => ({ valid, publicKey, namespace, hashAlgorithm, reason });
  if (namespace !== options.namespace) {
    return result(false, `signature is for namespace ${JSON.stringify(namespace)}, expected ${JSON.stringify(options.namespace)}`);
  }
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') {
    return result(false, `unsupported hash algorithm ${JSON.stringify(hashAlgorithm)}`);
  }
  if (options.publicKey && !sameSshPublicKey(options.publicKey, publicKey)) {
    return result(false, 'signature was made with a different key than the one required');
  }
  const raw = ed25519RawPublicKey(publicKey);
  if (!raw) return result(false, `unsupported key type ${publicKey.type}: only ssh-ed25519 signatures can be checked`);
  if (parts.signatureAlgorithm !== ED25519_KEY_TYPE) {
    return result(false, `signature algorithm ${parts.signatureAlgorithm} does not match key type ${publicKey.type}`);
  }
  if (parts.signatureBytes.length !== 64) return result(false, `Ed25519 signature is ${parts.signatureBytes.length} bytes, expected 64`);
  const data = signedData(namespace, hashAlgorithm, messageBytes(options.message));
  let ok: boolean;
  try {
    ok = cryptoVerify(null, data, publicKeyObject(raw), parts.signatureBytes);
  } catch (e) {
    return result(false, `signature check failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return ok ? result(true, 'good signature') : result(false, 'signature does not match the message (bad signature)');
}
