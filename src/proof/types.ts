/**
 * The proof format (docs/FORMAT.md, "Proofs"): plain JSON — keys, values and addresses as lower-case
 * hex, node and git object bytes as base64 (a third smaller than hex, which keeps the largest key
 * proof on a 1M-entry tree under 32 KiB) — so a proof can be printed, stored, mailed and checked by a
 * verifier that shares no code with git-prolly. This module holds types and constants only — it is
 * part of the pure `git-prolly/verify` entry point.
 */

/** The `format` field of every proof. */
export const PROOF_FORMAT = 'git-prolly-proof';
/**
 * The `version` field this code writes and the only one it verifies. Version 2 carries node bytes as
 * base64 (version 1, never released, used hex) and defines the `git-commit` anchor.
 */
export const PROOF_VERSION = 2;

/** A leaf value as a proof carries it: the bytes (inline values) or the blob reference (large values). */
export type ProofValueJson =
  | {
      type: 'inline';
      /** The value bytes, hex. */
      hex: string;
    }
  | {
      type: 'blob';
      /** Address of the blob's root chunk, 64 hex digits. */
      address: string;
      /** The blob's length in bytes. */
      length: number;
    };

/**
 * What links `root` to a git commit: the commit object (with its signature, if any) and the git
 * objects from the commit's tree down to the dataset's pointer file `.prolly/datasets/<dataset>`,
 * which names the root. Verified against a trusted commit id (or, through the commit's signature,
 * against a trusted signer), it makes the proof say "in signed commit C, key K had value V".
 */
export interface GitCommitAnchor {
  type: 'git-commit';
  /** The commit id: 40 lower-case hex digits (SHA-1 of the commit object, git's default object format). */
  commit: string;
  /** The dataset: its pointer file is `.prolly/datasets/<dataset>` in the commit's tree. */
  dataset: string;
  /** The commit object's bytes (no `commit <size>` header), base64 — signature header included. */
  commitObject: string;
  /** The tree objects of the commit's root tree, `.prolly` and `.prolly/datasets`, in that order, base64. */
  trees: string[];
  /** The pointer file's bytes, base64. */
  pointer: string;
}

/** An anchor; `git-commit` is the only type this version defines. */
export type ProofAnchor = GitCommitAnchor;

/** Fields shared by every proof. */
interface ProofBase {
  format: typeof PROOF_FORMAT;
  version: typeof PROOF_VERSION;
  /** Address of the tree root the proof is for, 64 hex digits. */
  root: string;
  /** Optional link from a git commit to `root`; null or absent when the proof is not anchored. */
  anchor?: ProofAnchor | null;
}

/**
 * Proof that `key` maps to `value` (inclusion) or is not in the tree (absence). `path` holds the
 * canonical bytes of every node a lookup of `key` visits, root first.
 */
export interface KeyProof extends ProofBase {
  kind: 'inclusion' | 'absence';
  /** The key, hex. */
  key: string;
  /** Present exactly when kind is "inclusion". */
  value?: ProofValueJson;
  /** Node bytes (base64), root first, each the child the lookup of `key` descends into. */
  path: string[];
}

/** One entry of a range proof. */
export interface ProofEntryJson {
  key: string;
  value: ProofValueJson;
}

/**
 * Proof that `entries` are exactly the tree's entries with start ≤ key ≤ end. `nodes` holds every
 * node whose key interval meets the range, in depth-first pre-order (a node, then its included
 * children left to right).
 */
export interface RangeProof extends ProofBase {
  kind: 'range';
  /** Inclusive lower bound (hex), or null for "from the first key". */
  start: string | null;
  /** Inclusive upper bound (hex), or null for "to the last key". */
  end: string | null;
  entries: ProofEntryJson[];
  /** Node bytes (base64). */
  nodes: string[];
}

export type Proof = KeyProof | RangeProof;

/** A verified leaf value. */
export type ProofValue = { type: 'inline'; bytes: Uint8Array } | { type: 'blob'; address: Uint8Array; length: number };

/** Which check a proof failed (stable names; `reason` has the details). */
export type ProofCheck =
  /** Not a proof object of a known format/version, or a malformed field. */
  | 'format'
  /** The proof names a root other than the one it is verified against. */
  | 'root'
  /** The anchor does not link the trusted commit to the proof's root (or is missing when a commit is trusted). */
  | 'anchor'
  /** A node's SHA-256 is not the address its parent (or the trusted root) gives. */
  | 'hash'
  /** A node's bytes are not a canonical node. */
  | 'decode'
  /** A node's level is not one below its parent's. */
  | 'level'
  /** A child's keys are not within the interval its parent entry implies. */
  | 'bounds'
  /** A child's entry count does not match the subtree count its parent entry records. */
  | 'count'
  /** Nodes missing from, or left over at the end of, the path / node list. */
  | 'path'
  /** The claimed value differs from the leaf entry. */
  | 'value'
  /** The claimed presence or absence of the key is false. */
  | 'presence'
  /** A range proof's entries differ from the in-range entries of its leaves. */
  | 'entries';

/** Outcome of verifying an inclusion or absence proof. */
export interface KeyProofResult {
  valid: boolean;
  kind: 'inclusion' | 'absence';
  /** The key the proof is about (undefined only when the proof is too malformed to name one). */
  key?: Uint8Array;
  /** The verified value, for a valid inclusion proof. */
  value?: ProofValue;
  /** The verified anchor, when the proof carries one. */
  anchor?: AnchorResult;
  /** Why the proof is invalid. */
  reason?: string;
  check?: ProofCheck;
  /** Index in the proof's node list of the node that failed, when one did. */
  node?: number;
}

/** Outcome of verifying a range proof. */
export interface RangeProofResult {
  valid: boolean;
  kind: 'range';
  start?: Uint8Array | null;
  end?: Uint8Array | null;
  /** The verified entries, in key order, for a valid proof. */
  entries?: { key: Uint8Array; value: ProofValue }[];
  /** The verified anchor, when the proof carries one. */
  anchor?: AnchorResult;
  reason?: string;
  check?: ProofCheck;
  node?: number;
}

export type ProofResult = KeyProofResult | RangeProofResult;

/**
 * What a proof is verified against: a trusted root, a trusted commit id (the proof's anchor then
 * supplies the root), or both (they must agree). At least one is required.
 */
export interface VerifyOptions {
  /** The trusted root address: 32 bytes, or 64 hex digits. */
  root?: Uint8Array | string;
  /** A trusted commit id (40 hex digits): the proof must carry an anchor to it. */
  commit?: string;
}

/** What a verified anchor established (present on results of proofs that carry one). */
export interface AnchorResult {
  type: 'git-commit';
  /** The commit id the anchor's commit object hashes to. */
  commit: string;
  dataset: string;
  /** The commit's tree id. */
  tree: string;
  /** The root the dataset's pointer file names at that commit (= the proof's root). */
  root: Uint8Array;
  /** The commit carries a `gpgsig` signature header. */
  signed: boolean;
  /** The armored signature (an SSHSIG for git-prolly commits), when signed. */
  signature?: string;
  /** The bytes the signature covers: the commit object without its signature header. */
  signedPayload?: Uint8Array;
  /** The committer line (`Name <email> time tz`). */
  committer?: string;
  /** Committer time, seconds since the epoch. */
  committedAt?: number;
}
