/**
 * The audit log on `refs/prolly/audit`: appending entries (./log.ts) and verifying the chain, the
 * signatures and the branches it records (./verify-log.ts).
 *
 * @example
 * import { appendAudit, verifyAuditLog } from './audit/index.js';
 * await appendAudit(repo, { op: 'import', what: 'import users.csv into users' });
 * const { ok, problems } = await verifyAuditLog(await repo.git());
 */
export {
  AUDIT_REF,
  AUDIT_ENTRY_VERSION,
  appendAudit,
  appendCommitAudit,
  auditHead,
  parseAuditMessage,
  readAuditLog,
  recordAudit,
  rootsAt,
  type AuditEntry,
  type AuditInput,
  type AuditOp,
  type AuditRecord,
  type RootMap,
} from './log.js';
export { checkBranch, verifyAuditLog, type AuditProblem, type AuditVerification, type VerifyAuditOptions } from './verify-log.js';
