/**
 * One-call hooks for the state-changing commands: each records its audit entry after its work and
 * never fails the command (see recordAudit). Kept here so the commands stay small.
 */
import type { Repo } from '../repo/repo.js';
import { toHex } from '../util/bytes.js';
import { appendAudit, recordAudit, type RootMap } from './log.js';

function workRoot(repo: Repo, dataset: string): RootMap {
  try {
    const p = repo.readWorkPointer(dataset);
    return p ? { [dataset]: toHex(p.root) } : {};
  } catch {
    return {};
  }
}

/**
 * Call before an import: remembers the dataset's root; `done()` afterwards appends the entry.
 * @example const audit = auditImport(repo, 'users', 'users.csv'); …import…; await audit.done({ rows });
 */
export function auditImport(repo: Repo, dataset: string, source: string): { done(details: Record<string, unknown>): Promise<void> } {
  const before = workRoot(repo, dataset);
  return {
    async done(details) {
      await recordAudit(async () => {
        const git = await repo.git();
        const head = await git.head();
        return appendAudit(repo, {
          op: 'import',
          what: `import ${source} into ${dataset}`,
          ref: head.ref ?? null,
          roots: { before, after: workRoot(repo, dataset) },
          details: { source, ...details },
        });
      });
    },
  };
}

/** Operations that change stored chunks (local or remote) rather than history. */
export type StorageOp = 'push' | 'fetch' | 'tier' | 'gc' | 'repair' | 'rekey';

/**
 * After a command that changed stored chunks — push, fetch (pull), tier, gc, repair, rekey: what
 * went where. `roots` are the dataset versions concerned (hex).
 * @example await auditStorage(repo, { op: 'push', what: 'push to archive: 120 chunks', details })
 */
export async function auditStorage(repo: Repo, options: { op: StorageOp; what: string; roots?: RootMap; details?: Record<string, unknown> }): Promise<void> {
  await recordAudit(async () => {
    const git = await repo.git();
    const head = await git.head();
    return appendAudit(repo, {
      op: options.op,
      what: options.what,
      ref: head.ref ?? null,
      commits: null,
      roots: { before: {}, after: options.roots ?? {} },
      details: { head: head.oid ?? null, ...(options.details ?? {}) },
    });
  });
}
