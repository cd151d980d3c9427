/**
 * Git commit signatures in git's own SSH form: an SSHSIG (namespace "git") in the commit's `gpgsig`
 * header, so `git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=… verify-commit` accepts commits
 * written by isomorphic-git with `createCommitSigner`.
 *
 * isomorphic-git calls `onSign({ payload, secretKey })` with `payload` = the whole unsigned commit
 * text and `secretKey` = whatever was passed as `signingKey`, then inserts the returned signature as
 * a `gpgsig` header after `committer`, continuation lines prefixed with one space. Git verifies by
 * removing that header (and its continuation lines) again, which gives back exactly the payload.
 */
import { type AllowedSigners, findAllowedPrincipals, parseAllowedSigners } from './allowed-signers.js';
import {
  formatSshPublicKey,
  parseOpenSshPrivateKey,
  sshFingerprint,
  sshPublicKeyOf,
  type SshEd25519PrivateKey,
  type SshPublicKey,
} from './ssh-key.js';
import { signSshsig, verifySshsig } from './sshsig.js';

/** The namespace git signs commits and tags in. */
export const GIT_SIGNATURE_NAMESPACE = 'git';

/** isomorphic-git's SignCallback shape (kept structural so this module needs no import of it). */
export type CommitSignCallback = (args: { payload: string; secretKey: string }) => { signature: string };

/** Signature kinds git tells apart by their armor (gpg-interface.c). */
export type SignatureFormat = 'ssh' | 'openpgp' | 'x509' | 'unknown';

/** The outcome of checking one commit's signature. */
export interface CommitSignatureVerification {
  /**
   * good: valid signature by a key the allowed-signers file trusts for namespace "git" at the
   * committer date (git's "Good "git" signature for <principal>");
   * untrusted: the signature is valid but no allowed signer has that key (git rejects these too);
   * bad: the signature does not verify (tampered commit, wrong namespace, malformed);
   * unsigned: no gpgsig header; unsupported: a signature git-prolly cannot check (OpenPGP, X.509,
   * non-Ed25519 SSH keys).
   */
  status: 'good' | 'untrusted' | 'bad' | 'unsigned' | 'unsupported';
  /** The commit has a signature header. */
  signed: boolean;
  /** status === 'good'. */
  valid: boolean;
  format?: SignatureFormat;
  /** First principal the key is allowed for (what git prints after "signature for"). */
  principal?: string;
  /** Every principal the key is allowed for in namespace "git". */
  principals: string[];
  /** Signer key fingerprint as ssh-keygen prints it (SHA256:…). */
  fingerprint?: string;
  publicKey?: SshPublicKey;
  /** Committer date (seconds) used for valid-after / valid-before, as git does. */
  signedAt?: number;
  /** One line saying why, fit for a CLI. */
  reason: string;
  /** Extra detail, e.g. allowed-signers lines that list the key but do not allow it. */
  notes: string[];
}

/**
 * Sign an isomorphic-git commit payload: the armored SSHSIG git expects in `gpgsig`.
 * @example const sig = signCommitPayload({ payload: commitText, privateKey: key });
 */
export function signCommitPayload(options: { payload: string | Uint8Array; privateKey: SshEd25519PrivateKey }): string {
  return signSshsig({ privateKey: options.privateKey, namespace: GIT_SIGNATURE_NAMESPACE, message: options.payload, hashAlgorithm: 'sha512' });
}

/**
 * An `onSign` callback for isomorphic-git. With `privateKey` it signs with that key and ignores
 * `secretKey`; without, it parses `secretKey` as OpenSSH private key text (the last one is cached).
 * isomorphic-git signs only when `signingKey` is a non-empty string.
 * @example
 * const onSign = createCommitSigner({ privateKey: key });
 * await git.commit({ fs, dir, message, author, onSign, signingKey: formatSshPublicKey(sshPublicKeyOf(key)) });
 */
export function createCommitSigner(options: { privateKey?: SshEd25519PrivateKey } = {}): CommitSignCallback {
  let cachedText: string | undefined;
  let cachedKey: SshEd25519PrivateKey | undefined;
  return ({ payload, secretKey }) => {
    let privateKey = options.privateKey;
    if (!privateKey) {
      if (secretKey !== cachedText) {
        cachedKey = parseOpenSshPrivateKey(secretKey, { source: 'signingKey passed to git.commit' });
        cachedText = secretKey;
      }
      privateKey = cachedKey!;
    }
    return { signature: signCommitPayload({ payload, privateKey }) };
  };
}

/**
 * `{ onSign, signingKey }` to spread into isomorphic-git's commit / merge calls. `signingKey` is the
 * public key line (isomorphic-git only needs it non-empty, and a public line is safe to log).
 * @example await git.commit({ fs, dir, message, author, ...commitSigningOptions(key) });
 */
export function commitSigningOptions(privateKey: SshEd25519PrivateKey): { onSign: CommitSignCallback; signingKey: string } {
  return { onSign: createCommitSigner({ privateKey }), signingKey: formatSshPublicKey(sshPublicKeyOf(privateKey)) };
}

const LF = 0x0a;
const SP = 0x20;

function startsWithAscii(buf: Uint8Array, at: number, prefix: string): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** The commit body, without a loose-object `commit <size>\0` prefix if one was passed. */
function commitBody(commitObject: Uint8Array): Uint8Array {
  if (startsWithAscii(commitObject, 0, 'commit ')) {
    const nul = commitObject.indexOf(0);
    if (nul > 0 && nul < 32 && /^commit \d+$/.test(Buffer.from(commitObject.subarray(0, nul)).toString('latin1'))) {
      return commitObject.subarray(nul + 1);
    }
  }
  return commitObject;
}

/**
 * Split a commit into the signed payload and the signature, exactly as git's
 * parse_buffer_signed_by_header does: the `gpgsig` header (`gpgsig-sha256` in SHA-256 repos) and
 * its space-prefixed continuation lines are the signature; every other `gpgsig…` header (a
 * signature for the other hash) is dropped; everything else, message included, is the payload.
 * @example const { payload, signature } = splitSignedCommit(rawCommitBytes);
 */
export function splitSignedCommit(
  commitObject: Uint8Array,
  options: { objectFormat?: 'sha1' | 'sha256' } = {},
): { payload: Uint8Array; signature?: Uint8Array } {
  const buf = commitBody(commitObject);
  const header = options.objectFormat === 'sha256' ? 'gpgsig-sha256' : 'gpgsig';
  const payload: Uint8Array[] = [];
  const signature: Uint8Array[] = [];
  let inSignature = false;
  let otherSignature = false;
  let line = 0;
  while (line < buf.length) {
    const nl = buf.indexOf(LF, line);
    let next = nl < 0 ? buf.length : nl + 1;
    let sigStart = -1;
    if (inSignature && buf[line] === SP) sigStart = line + 1;
    else if (startsWithAscii(buf, line, header) && buf[line + header.length] === SP) {
      sigStart = line + header.length + 1;
      otherSignature = false;
    } else if (startsWithAscii(buf, line, 'gpgsig')) otherSignature = true;
    else if (otherSignature && buf[line] !== SP) otherSignature = false;
    if (sigStart >= 0) {
      signature.push(buf.subarray(sigStart, next));
      inSignature = true;
    } else {
      // The blank line ends the headers: the rest is the message, kept whole.
      if (buf[line] === LF) next = buf.length;
      if (!otherSignature) payload.push(buf.subarray(line, next));
      inSignature = false;
    }
    line = next;
  }
  const out: { payload: Uint8Array; signature?: Uint8Array } = { payload: concat(payload) };
  if (signature.length) out.signature = concat(signature);
  return out;
}

/** The committer timestamp (seconds) from the commit headers; git checks key validity at this time. */
function committerTime(payload: Uint8Array): number | undefined {
  const end = Buffer.from(payload).indexOf('\n\n');
  const headers = Buffer.from(payload.subarray(0, end < 0 ? payload.length : end)).toString('utf8');
  const m = /^committer .*> (\d+) [+-]\d{4}$/m.exec(headers);
  return m ? Number(m[1]) : undefined;
}

function signatureFormat(signature: string): SignatureFormat {
  if (signature.startsWith('-----BEGIN SSH SIGNATURE-----')) return 'ssh';
  if (signature.startsWith('-----BEGIN PGP SIGNATURE-----') || signature.startsWith('-----BEGIN PGP MESSAGE-----')) return 'openpgp';
  if (signature.startsWith('-----BEGIN SIGNED MESSAGE-----')) return 'x509';
  return 'unknown';
}

/**
 * Check a commit's SSH signature the way `git verify-commit` with `gpg.format=ssh` does: rebuild the
 * signed payload, verify the SSHSIG in namespace "git", and look the key up in the allowed signers
 * at the committer date. `commitObject` is the raw commit (with or without its `commit <size>\0`
 * prefix); `allowedSigners` is a parsed file or its text (malformed text throws EALLOWEDSIGNERS).
 * Never throws for a bad commit: the result says what is wrong.
 * @example
 * const r = verifyCommitSignature({ commitObject, allowedSigners });
 * if (!r.valid) console.error(`${oid}: ${r.reason}`);
 */
export function verifyCommitSignature(options: {
  commitObject: Uint8Array;
  allowedSigners: AllowedSigners | string;
  objectFormat?: 'sha1' | 'sha256';
}): CommitSignatureVerification {
  const allowedSigners =
    typeof options.allowedSigners === 'string' ? parseAllowedSigners(options.allowedSigners) : options.allowedSigners;
  const { payload, signature } = splitSignedCommit(options.commitObject, { objectFormat: options.objectFormat ?? 'sha1' });
  if (!signature) return { status: 'unsigned', signed: false, valid: false, principals: [], reason: 'commit is not signed', notes: [] };
  const text = Buffer.from(signature).toString('utf8');
  const format = signatureFormat(text);
  const signedAt = committerTime(payload);
  const base = { signed: true, format, principals: [] as string[], notes: [] as string[], ...(signedAt !== undefined ? { signedAt } : {}) };
  if (format !== 'ssh') {
    return { ...base, status: 'unsupported', valid: false, reason: `commit carries a ${format} signature; only SSH (gpg.format=ssh) signatures are checked` };
  }
  const check = verifySshsig({ signature: text, message: payload, namespace: GIT_SIGNATURE_NAMESPACE });
  const keyInfo: { publicKey?: SshPublicKey; fingerprint?: string } = {};
  if (check.publicKey) {
    keyInfo.publicKey = check.publicKey;
    keyInfo.fingerprint = sshFingerprint(check.publicKey);
  }
  if (!check.valid) {
    const unsupported = /^unsupported key type/.test(check.reason);
    return { ...base, ...keyInfo, status: unsupported ? 'unsupported' : 'bad', valid: false, reason: check.reason };
  }
  // Without a committer date git lets ssh-keygen check validity at the current time; so do we.
  const found = findAllowedPrincipals({
    allowedSigners,
    publicKey: check.publicKey!,
    namespace: GIT_SIGNATURE_NAMESPACE,
    ...(signedAt !== undefined ? { at: signedAt } : {}),
  });
  if (found.principals.length === 0) {
    return {
      ...base,
      ...keyInfo,
      notes: found.notes,
      status: 'untrusted',
      valid: false,
      reason: `good signature with key ${keyInfo.fingerprint}, but no principal in ${allowedSigners.source} is allowed to sign with it`,
    };
  }
  return {
    ...base,
    ...keyInfo,
    notes: found.notes,
    principals: found.principals,
    principal: found.principals[0]!,
    status: 'good',
    valid: true,
    reason: `good "git" signature for ${found.principals[0]} with key ${keyInfo.fingerprint}`,
  };
}
