/**
 * The proof format (docs/FORMAT.md, "Proofs"): plain JSON, bytes as lower-case hex, so a proof can be
 * printed, stored, mailed and checked by a verifier that shares no code with git-prolly. This module
 * holds types and constants only — it is part of the pure `git-prolly/verify` entry point.
 */

/** The `format` field of every proof. */
export const PROOF_FORMAT = 'git-prolly-proof';
/** The `version` field this code writes and the only one it verifies. */
export const PROOF_VERSION = 1;

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
 * Reserved: what links `root` to a git commit (commit object, tree entries down to the dataset's
 * pointer file). Version-1 verifiers do not read it: trust comes from the `root` the caller passes.
 * An anchor verifier checks the anchor against a trusted commit, obtains the root, then verifies the
 * proof against that root.
 */
export interface ProofAnchor {
  /** Anchor kind, e.g. "git-commit". TODO: defined by `git prolly proof`. */
  type: string;
  [field: string]: unknown;
}

/** Fields shared by every proof. */
interface ProofBase {
  format: typeof PROOF_FORMAT;
  version: typeof PROOF_VERSION;
  /** Address of the tree root the proof is for, 64 hex digits. */
  root: string;
  /** Optional link from a commit to `root`; null or absent when the proof is not anchored. */
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
  /** Node bytes (hex), root first, each the child the lookup of `key` descends into. */
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
  reason?: string;
  check?: ProofCheck;
  node?: number;
}

export type ProofResult = KeyProofResult | RangeProofResult;

/** What a proof is verified against. */
export interface VerifyOptions {
  /** The trusted root address: 32 bytes, or 64 hex digits. */
  root: Uint8Array | string;
}
