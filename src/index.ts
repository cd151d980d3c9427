/**
 * git-prolly: version large key-value datasets with git. This module is the public API; everything
 * else is internal. A data pipeline needs no git binary:
 *
 * @example
 * import { initRepo, openRepo } from 'git-prolly';
 * await initRepo({ dir: '/data/project' });                // once, in an existing git repository
 * const repo = await openRepo({ dir: '/data/project' });
 * try {
 *   const users = repo.dataset('users');
 *   await users.import('users.csv', { key: 'id' });
 *   await users.put('u1', JSON.stringify({ name: 'Ada' }));
 *   await repo.commit({ message: 'nightly import' });
 *   for await (const change of repo.diff({ from: 'HEAD~1', to: 'HEAD' })) console.log(change.type);
 * } finally {
 *   await repo.close();
 * }
 */

/**
 * Open a repository; the handle gives datasets, commit, log, diff, merge and history.
 * @example const repo = await openRepo({ dir: process.cwd() }); await repo.close();
 */
export { openRepo, Repo, type OpenRepoOptions, type DatasetInfo } from './repo/repo.js';

/**
 * Set up git-prolly in a git repository (config, attributes, merge/diff drivers, local store).
 * @example await initRepo({ dir: '/data/project' });
 */
export { initRepo, type InitResult } from './repo/init.js';

/**
 * A dataset handle: get / put / putMany / del / scan / import.
 * @example const v = await repo.dataset('users').getText('u1', { at: 'HEAD~1' });
 */
export { Dataset, type ScanOptions, type DatasetEntry, type ImportOptions, type WriteResult, type DatasetHost, type TreeAccess } from './dataset/dataset.js';

/**
 * Key and value inputs accepted by datasets.
 * @example await ds.put(new Uint8Array([1, 2]), fs.createReadStream('big.bin'));
 */
export type { KeyInput, ValueInput } from './dataset/values.js';

/**
 * Options and results of the version-control operations on {@link Repo}.
 * @example const { oid }: CommitResult = await repo.commit({ message: 'msg' } satisfies CommitOptions);
 */
export type { CommitOptions, CommitResult } from './repo/commit.js';
export type { LogOptions, LogEntry, LogDatasetChange } from './repo/log.js';
export type { DiffOptions, DatasetChange, DatasetDelta, DiffStat } from './repo/diff.js';
export type { HistoryOptions, HistoryEntry } from './repo/history.js';
export type { RepoMergeOptions, RepoMergeResult, ResolveChoice } from './repo/merge.js';

/**
 * Dataset pointer files (what git stores per dataset).
 * @example parsePointer(fs.readFileSync('.prolly/datasets/users', 'utf8')).count
 */
export { parsePointer, formatPointer, type DatasetPointer, type DatasetKind } from './repo/pointer.js';

/**
 * `.prolly/config.toml`: typed, validated configuration.
 * @example const config: ProllyConfig = loadConfig('.prolly/config.toml'); config.cache.size_mb
 */
export {
  loadConfig,
  parseConfig,
  defaultConfig,
  type ProllyConfig,
  type BackendConfig,
  type RoutingConfig,
  type RoutingStrategy,
  type StorageConfig,
  type CacheConfig,
  type CompressionConfig,
  type SecurityConfig,
  type TamperProofConfig,
  type DiffConfig,
} from './config/config.js';

/**
 * Errors: every deliberate failure is a ProllyError with a stable `code`.
 * @example catch (e) { if (e instanceof ProllyError && e.code === ErrorCodes.LOCKED) retryLater(); }
 */
export { ProllyError, ErrorCodes, type ErrorCode } from './errors.js';

/**
 * The tree engine and stores, for callers that want prolly trees without git.
 * @example const tree = await ProllyTree.empty(new NodeStore(new MemoryStore()));
 */
export { ProllyTree, type Edit, type Entry, type RangeOptions } from './tree/prolly-tree.js';
export { NodeStore } from './tree/node-store.js';
export { MemoryStore } from './store/memory-store.js';
export type { ChunkStore, Chunk } from './store/chunk-store.js';
export { BlobRef, INLINE_VALUE_MAX, type TreeValue } from './blob/blob-ref.js';

/**
 * Large values as content-defined-chunked blobs (values over INLINE_VALUE_MAX are stored this way).
 * @example const ref = await writeBlob(store, fileStream); for await (const piece of readBlob(store, ref)) …
 */
export { writeBlob, BlobWriter, readBlob, readBlobRange, readBlobBytes, blobChunkAddresses } from './blob/index.js';

/**
 * Merkle proofs. `proveKey` / `proveRange` make them from a tree; the pure verifiers are also published
 * alone as `git-prolly/verify` (no Node APIs).
 * @example const proof = await proveKey(tree, key); verifyProof(proof, { root: toHex(tree.root) }).valid
 */
export { proveKey, proveRange, type ProveRangeOptions } from './proof/prove.js';
export * from './proof/index.js';

/**
 * SQL over tables stored as prolly trees.
 * @example
 * const { store, revisions } = repoTables(repo);
 * const sql = new SqlSession({ store, revisions });
 * const { rows } = await sql.query('SELECT count(*) AS n FROM users');
 */
export { SqlSession, type SqlSessionOptions, type StatementResult, type SqlParams, type TablePlan } from './sql/engine.js';
export { MemoryTableStore, type TableStore, type RevisionSource, type TableState } from './sql/table-store.js';
export { repoTables } from './sql/repo-tables.js';
export { importTable } from './sql/import-table.js';

/**
 * SSH Ed25519 commit signing compatible with `git verify-commit` (SSHSIG, namespace "git").
 * @example const key = generateSshKeyPair({ comment: 'ci@example.org' });
 */
export { generateSshKeyPair, readOpenSshPrivateKeyFile, verifyCommitSignature, parseAllowedSigners } from './sign/index.js';

/**
 * Tamper evidence: proofs about a repository's datasets anchored to a commit, history verification
 * for CI, and the audit log on refs/prolly/audit.
 * @example
 * const proof = await proveDataset(repo, { dataset: 'users', key: new TextEncoder().encode('alice') });
 * verifyProof(proof, { commit: proof.anchor!.commit }).valid; // true
 * const report = await verifyHistory(repo, { from: 'v1.0', requireSignatures: true, allowedSigners: await allowedSignersFor(repo) });
 */
export { proveDataset, buildCommitAnchor, type ProveDatasetOptions } from './proof/repo-proof.js';
export { verifyHistory, verifyReportJunit, allowedSignersFor, type VerifyHistoryOptions, type VerifyReport, type VerifyProblem, type CommitReport } from './verify/index.js';
export { appendAudit, readAuditLog, verifyAuditLog, AUDIT_REF, type AuditEntry, type AuditInput, type AuditVerification } from './audit/index.js';
