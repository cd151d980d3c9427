/**
 * History verification for CI (`git prolly verify`): signatures, the commit chain, every node's hash,
 * optionally every blob chunk and a remote tier's copy, incrementally.
 *
 * @example
 * import { verifyHistory, verifyReportJunit } from './verify/index.js';
 * const report = await verifyHistory(repo, { from: 'v1.0', requireSignatures: true, allowedSigners });
 * if (!report.ok) process.exitCode = 1;
 */
export { verifyHistory, type VerifyHistoryOptions, type VerifyReport, type VerifyProblem, type VerifyCheck, type CommitReport } from './verify.js';
export { verifyReportJunit } from './junit.js';
export { allowedSignersFor } from './signers.js';
export { commitRange, isAncestor, findRewrite, describeCommit, type RewriteInfo } from './history.js';
