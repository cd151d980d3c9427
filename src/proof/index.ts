/**
 * The pure proof verifier and the proof types: the `git-prolly/verify` entry point. Nothing here does
 * I/O or imports node:* modules, so it runs unchanged in browsers. Proof generation lives in
 * ./prove.ts and is exported from the main entry point instead.
 *
 * @example
 * import { verifyProof } from 'git-prolly/verify';
 * const result = verifyProof(JSON.parse(text), { root: trustedRootHex });
 * const anchored = verifyProof(text, { commit: trustedCommitId }); // through the proof's git-commit anchor
 */
export { verifyProof, verifyRangeProof } from './verify.js';
export { PROOF_FORMAT, PROOF_VERSION } from './types.js';
export type {
  AnchorResult,
  GitCommitAnchor,
  KeyProof,
  KeyProofResult,
  Proof,
  ProofAnchor,
  ProofCheck,
  ProofEntryJson,
  ProofResult,
  ProofValue,
  ProofValueJson,
  RangeProof,
  RangeProofResult,
  VerifyOptions,
} from './types.js';
