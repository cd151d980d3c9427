/**
 * Signing: OpenSSH Ed25519 keys, SSHSIG signatures, allowed-signers files and git commit
 * signatures that plain `git verify-commit` accepts (ARCHITECTURE.md fixed decision 11).
 *
 * @example
 * import { generateSshKeyPair, commitSigningOptions, verifyCommitSignature } from './sign/index.js';
 */
export * from './ssh-key.js';
export * from './sshsig.js';
export * from './allowed-signers.js';
export * from './commit-signing.js';
