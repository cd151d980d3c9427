/**
 * OpenSSH Ed25519 keys: generate, read and write them in the formats ssh-keygen uses, so a key made
 * here works with `ssh-keygen -Y sign` / git's `gpg.format=ssh`, and a key made by
 * `ssh-keygen -t ed25519 -N ''` works here.
 *
 * Private key file layout (OpenSSH PROTOCOL.key, unencrypted):
 *   "openssh-key-v1\0" string cipher("none") string kdf("none") string kdfoptions("") uint32 1
 *   string publickey-blob
 *   string private-section = uint32 checkint, uint32 checkint, string "ssh-ed25519", string pub(32),
 *                            string seed||pub(64), string comment, padding 1,2,3,… to a multiple of 8
 * armored as base64 in 70-column lines between `-----BEGIN/END OPENSSH PRIVATE KEY-----`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { equalBytes } from '../util/bytes.js';
import { SshReader, SshWireError, SshWriter, dearmor, fromBase64, toBase64, wrapBase64 } from './ssh-wire.js';

/** The only key type git-prolly signs with. */
export const ED25519_KEY_TYPE = 'ssh-ed25519';

const PRIVATE_KEY_LABEL = 'OPENSSH PRIVATE KEY';
const AUTH_MAGIC = new TextEncoder().encode('openssh-key-v1\0');
/** Cipher block size OpenSSH pads the private section to when the cipher is "none". */
const NONE_BLOCK_SIZE = 8;
/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * An SSH public key as OpenSSH names it: the key type and the wire-format blob
 * (`string type, …key fields`) that `ssh-ed25519 AAAA…` lines base64-encode.
 */
export interface SshPublicKey {
  /** Key type name, e.g. 'ssh-ed25519'. */
  type: string;
  /** SSH wire-format public key blob (what fingerprints hash and signatures embed). */
  blob: Uint8Array;
  /** Free-text comment from a public key line, when there was one. */
  comment?: string;
}

/** An unencrypted Ed25519 private key, with what is needed to write it back byte-for-byte. */
export interface SshEd25519PrivateKey {
  type: 'ssh-ed25519';
  /** The 32-byte Ed25519 seed (RFC 8032 private key). */
  seed: Uint8Array;
  /** The 32-byte Ed25519 public key. */
  rawPublicKey: Uint8Array;
  /** Comment stored in the key file (ssh-keygen's `-C`). */
  comment: string;
  /** The private section's check integer; kept so a parsed key re-encodes to the same file. */
  checkInt: number;
}

/** Where a key came from, for error messages (a file path, or a description such as "key text"). */
interface SourceOption {
  source?: string;
}

function badKey(source: string, detail: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_KEY, `${source}: not a usable OpenSSH Ed25519 private key: ${detail}`, { source });
}

/**
 * A fresh Ed25519 key pair from node:crypto.
 * @example const key = generateSshKeyPair({ comment: 'ci@example.com' });
 */
export function generateSshKeyPair(options: { comment?: string } = {}): SshEd25519PrivateKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    type: ED25519_KEY_TYPE,
    seed: new Uint8Array(Buffer.from(jwk.d!, 'base64url')),
    rawPublicKey: new Uint8Array(Buffer.from(jwk.x!, 'base64url')),
    comment: options.comment ?? '',
    checkInt: randomBytes(4).readUInt32BE(0),
  };
}

/**
 * The node:crypto private KeyObject for an Ed25519 seed.
 * @example sign(null, data, ed25519KeyObject(key.seed))
 */
export function ed25519KeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw invalidArgument(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The 32-byte public key belonging to an Ed25519 seed. */
function derivePublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(ed25519KeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/**
 * The SSH wire blob of a raw 32-byte Ed25519 public key.
 * @example ed25519PublicKeyBlob(key.rawPublicKey) // string "ssh-ed25519" + string pub
 */
export function ed25519PublicKeyBlob(rawPublicKey: Uint8Array): Uint8Array {
  return new SshWriter().string(ED25519_KEY_TYPE).string(rawPublicKey).finish();
}

/**
 * The raw 32-byte key inside an ssh-ed25519 public key, or undefined for other key types or a
 * malformed blob.
 * @example ed25519RawPublicKey(sshPublicKeyOf(key)) // 32 bytes
 */
export function ed25519RawPublicKey(publicKey: SshPublicKey): Uint8Array | undefined {
  if (publicKey.type !== ED25519_KEY_TYPE) return undefined;
  try {
    const r = new SshReader(publicKey.blob);
    if (r.readUtf8() !== ED25519_KEY_TYPE) return undefined;
    const raw = r.readString();
    return raw.length === 32 && r.remaining === 0 ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The public half of a private key.
 * @example formatSshPublicKey(sshPublicKeyOf(key)) // 'ssh-ed25519 AAAA… comment'
 */
export function sshPublicKeyOf(privateKey: SshEd25519PrivateKey): SshPublicKey {
  const pub: SshPublicKey = { type: ED25519_KEY_TYPE, blob: ed25519PublicKeyBlob(privateKey.rawPublicKey) };
  if (privateKey.comment) pub.comment = privateKey.comment;
  return pub;
}

/**
 * The public key line as in a `.pub` file and `ssh-keygen -y` output (no trailing newline).
 * @example formatSshPublicKey(pub) // 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI… me@example.com'
 */
export function formatSshPublicKey(publicKey: SshPublicKey, options: { comment?: string } = {}): string {
  const comment = options.comment ?? publicKey.comment;
  return `${publicKey.type} ${toBase64(publicKey.blob)}${comment ? ` ${comment}` : ''}`;
}

/**
 * Parse a public key line `type base64 [comment]`. Any key type parses (allowed-signers files may
 * list RSA or ECDSA keys); the blob's own type name must agree with the line's.
 * @example parseSshPublicKey('ssh-ed25519 AAAAC3Nza… me@example.com').comment // 'me@example.com'
 */
export function parseSshPublicKey(line: string, options: SourceOption = {}): SshPublicKey {
  const source = options.source ?? 'public key';
  const m = /^\s*(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
  const fail = (detail: string) =>
    new ProllyError(ErrorCodes.BAD_KEY, `${source}: not an SSH public key line (${detail}): ${JSON.stringify(line.slice(0, 80))}`, { source });
  if (!m) throw fail('expected "<type> <base64> [comment]"');
  const [, type, b64, comment] = m as unknown as [string, string, string, string | undefined];
  const blob = fromBase64(b64);
  if (!blob) throw fail('key data is not base64');
  let inner: string;
  try {
    inner = new SshReader(blob).readUtf8();
  } catch {
    throw fail('key data is truncated');
  }
  if (inner !== type) throw fail(`key data is of type ${inner}, line says ${type}`);
  const pub: SshPublicKey = { type, blob };
  if (type === ED25519_KEY_TYPE && !ed25519RawPublicKey(pub)) throw fail('ssh-ed25519 key data is not a 32-byte key');
  if (comment) pub.comment = comment;
  return pub;
}

/**
 * The key fingerprint as `ssh-keygen -l` prints it: `SHA256:` + unpadded base64 of SHA-256(blob).
 * @example sshFingerprint(pub) // 'SHA256:jCf0p6JbSpwm/e4EPXxIF1+4I6mRIA4GGCg5Kr+L1GM'
 */
export function sshFingerprint(publicKey: SshPublicKey): string {
  return 'SHA256:' + createHash('sha256').update(publicKey.blob).digest('base64').replace(/=+$/, '');
}

/** True when two public keys are the same key (comments ignored). */
export function sameSshPublicKey(a: SshPublicKey, b: SshPublicKey): boolean {
  return a.type === b.type && equalBytes(a.blob, b.blob);
}

/**
 * The private key file text exactly as `ssh-keygen -t ed25519 -N ''` writes it (given the same
 * check integer, which ssh-keygen picks at random).
 * @example await fs.writeFile(path, encodeOpenSshPrivateKey(key), { mode: 0o600 })
 */
export function encodeOpenSshPrivateKey(privateKey: SshEd25519PrivateKey): string {
  const { seed, rawPublicKey, comment, checkInt } = privateKey;
  if (seed.length !== 32 || rawPublicKey.length !== 32) {
    throw invalidArgument(`Ed25519 seed and public key must be 32 bytes each, got ${seed.length} and ${rawPublicKey.length}`);
  }
  const section = new SshWriter()
    .uint32(checkInt)
    .uint32(checkInt)
    .string(ED25519_KEY_TYPE)
    .string(rawPublicKey)
    .string(Buffer.concat([seed, rawPublicKey]))
    .string(comment);
  let length = section.finish().length;
  // Deterministic padding 1, 2, 3, … up to the cipher block size: what OpenSSH writes and checks.
  for (let pad = 1; length % NONE_BLOCK_SIZE !== 0; pad++, length++) section.raw(Uint8Array.of(pad));
  const body = new SshWriter()
    .raw(AUTH_MAGIC)
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(ed25519PublicKeyBlob(rawPublicKey))
    .string(section.finish())
    .finish();
  return `-----BEGIN ${PRIVATE_KEY_LABEL}-----\n${wrapBase64(body, 70)}\n-----END ${PRIVATE_KEY_LABEL}-----\n`;
}

/**
 * Parse an OpenSSH private key file's text. Only unencrypted ssh-ed25519 keys are accepted:
 * a passphrase-protected key fails with code EKEYENCRYPTED, anything else malformed or of
 * another type with EBADKEY; both messages name `source`.
 * @example const key = parseOpenSshPrivateKey(await fs.readFile(p, 'utf8'), { source: p });
 */
export function parseOpenSshPrivateKey(text: string | Uint8Array, options: SourceOption = {}): SshEd25519PrivateKey {
  const source = options.source ?? 'private key';
  const str = typeof text === 'string' ? text : new TextDecoder().decode(text);
  const body = dearmor(str, PRIVATE_KEY_LABEL);
  if (!body) {
    const other = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(str);
    if (other?.[1] === PRIVATE_KEY_LABEL) throw badKey(source, 'the OPENSSH PRIVATE KEY block is incomplete (no END line) or its body is not base64');
    if (other) {
      throw badKey(source, `found a "${other[1]}" block; expected "-----BEGIN ${PRIVATE_KEY_LABEL}-----" (convert with: ssh-keygen -p -f <file>, or make a new key with ssh-keygen -t ed25519)`);
    }
    if (/^\s*(ssh-|ecdsa-|sk-)\S+\s+AAAA/.test(str)) throw badKey(source, 'this is a public key line; give the private key file (without .pub)');
    throw badKey(source, `missing "-----BEGIN ${PRIVATE_KEY_LABEL}-----" … "-----END ${PRIVATE_KEY_LABEL}-----" block, or its body is not base64`);
  }
  try {
    const r = new SshReader(body);
    if (!equalBytes(r.readBytes(AUTH_MAGIC.length), AUTH_MAGIC)) throw badKey(source, 'missing "openssh-key-v1" magic');
    const cipher = r.readUtf8();
    const kdf = r.readUtf8();
    r.readString(); // kdf options: salt and rounds for bcrypt, empty for "none"
    if (cipher !== 'none' || kdf !== 'none') {
      throw new ProllyError(
        ErrorCodes.KEY_ENCRYPTED,
        `${source}: this SSH key is passphrase-protected (cipher ${cipher}, kdf ${kdf}); passphrase-protected signing keys are not supported yet. ` +
          `Make an unencrypted signing key with: ssh-keygen -t ed25519 -N '' -C "<you@example.com>" -f <new key file> ` +
          `(or remove the passphrase from a copy of this key with: ssh-keygen -p -N '' -f <copy>)`,
        { source, cipher, kdf },
      );
    }
    const count = r.readUint32();
    if (count !== 1) throw badKey(source, `holds ${count} keys; expected exactly 1`);
    const publicBlob = r.readString();
    const section = r.readString();
    if (r.remaining !== 0) throw badKey(source, `${r.remaining} unexpected bytes after the private section`);
    if (section.length % NONE_BLOCK_SIZE !== 0) throw badKey(source, `private section length ${section.length} is not a multiple of ${NONE_BLOCK_SIZE}`);

    const s = new SshReader(section);
    const check1 = s.readUint32();
    const check2 = s.readUint32();
    if (check1 !== check2) throw badKey(source, 'check integers differ (corrupt key)');
    const type = s.readUtf8();
    if (type !== ED25519_KEY_TYPE) {
      throw new ProllyError(
        ErrorCodes.BAD_KEY,
        `${source}: key type ${type} is not supported for signing; only ssh-ed25519 keys are (make one with: ssh-keygen -t ed25519 -N '' -f <file>)`,
        { source, type },
      );
    }
    const rawPublicKey = s.readString();
    const secret = s.readString();
    const comment = s.readUtf8();
    const padding = s.rest();
    if (rawPublicKey.length !== 32) throw badKey(source, `public key is ${rawPublicKey.length} bytes, expected 32`);
    if (secret.length !== 64) throw badKey(source, `private key is ${secret.length} bytes, expected 64`);
    for (let i = 0; i < padding.length; i++) {
      if (padding[i] !== i + 1) throw badKey(source, 'bad padding after the private section');
    }
    if (padding.length >= NONE_BLOCK_SIZE) throw badKey(source, 'too much padding after the private section');
    const seed = secret.slice(0, 32);
    if (!equalBytes(secret.subarray(32), rawPublicKey)) throw badKey(source, 'private key does not embed its public key');
    if (!equalBytes(publicBlob, ed25519PublicKeyBlob(rawPublicKey))) throw badKey(source, 'outer public key does not match the private section');
    if (!equalBytes(derivePublicKey(seed), rawPublicKey)) throw badKey(source, 'public key does not belong to the private key (corrupt key)');
    return { type: ED25519_KEY_TYPE, seed, rawPublicKey: rawPublicKey.slice(), comment, checkInt: check1 };
  } catch (e) {
    if (e instanceof SshWireError) throw badKey(source, e.message);
    throw e;
  }
}

/**
 * Read and parse a private key file; errors name the file.
 * @example const key = await readOpenSshPrivateKeyFile('/home/me/.ssh/id_ed25519');
 */
export async function readOpenSshPrivateKeyFile(path: string): Promise<SshEd25519PrivateKey> {
  return parseOpenSshPrivateKey(await fsp.readFile(path), { source: path });
}

/** Write `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir. */
async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const dir = nodePath.dirname(path);
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    // The umask may have narrowed the mode but never widens it; chmod makes it exact (0600 matters to ssh).
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await dh.close();
  }
}

/**
 * Write a private key file (mode 0600) and, unless `writePublicKey` is false, its `<path>.pub`
 * (mode 0644), each atomically. Refuses to replace an existing private key unless `overwrite`.
 * @example await writeOpenSshKeyFiles({ path: '.git/prolly/signing_key', privateKey: generateSshKeyPair() });
 */
export async function writeOpenSshKeyFiles(options: {
  path: string;
  privateKey: SshEd25519PrivateKey;
  writePublicKey?: boolean;
  overwrite?: boolean;
}): Promise<void> {
  const { path, privateKey, writePublicKey = true, overwrite = false } = options;
  if (!overwrite) {
    const exists = await fsp.stat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw invalidArgument(`${path}: a key file already exists there; pass overwrite to replace it`, { path });
  }
  await writeFileAtomic(path, encodeOpenSshPrivateKey(privateKey), 0o600);
  if (writePublicKey) await writeFileAtomic(`${path}.pub`, formatSshPublicKey(sshPublicKeyOf(privateKey)) + '\n', 0o644);
}
