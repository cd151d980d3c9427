/**
 * Commit-graph questions that verification asks: which commits a range holds (oldest first, parents
 * before children), whether one commit is in another's history, and — when it is not — which commit
 * was rewritten, so a report can name the culprit instead of just saying "diverged".
 */
import type { GitCommit, GitRepo } from '../repo/git.js';

/**
 * Every commit reachable from `tips` (all parents) and not from `exclude`, parents before children.
 * Missing parents (shallow clones) end the walk there; they are reported in `missing`.
 * @example const { commits } = await commitRange(git, { tips: [head], exclude: [trusted] });
 */
export async function commitRange(
  git: GitRepo,
  options: { tips: readonly string[]; exclude?: readonly string[] },
): Promise<{ commits: GitCommit[]; missing: string[]; excluded: Set<string> }> {
  const excluded = new Set<string>();
  const missing: string[] = [];
  // Everything reachable from `exclude` (stopping at missing objects).
  const stack = [...(options.exclude ?? [])];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (excluded.has(oid)) continue;
    excluded.add(oid);
    const c = await tryReadCommit(git, oid);
    if (c) for (const p of c.parents) if (!excluded.has(p)) stack.push(p);
  }
  // Post-order DFS from the tips gives parents before children without recursion.
  const byOid = new Map<string, GitCommit>();
  const order: GitCommit[] = [];
  const done = new Set<string>();
  const work: { oid: string; expanded: boolean }[] = options.tips.filter((t) => !excluded.has(t)).map((oid) => ({ oid, expanded: false }));
  while (work.length > 0) {
    const item = work[work.length - 1]!;
    if (done.has(item.oid)) {
      work.pop();
      continue;
    }
    let c = byOid.get(item.oid);
    if (!c) {
      c = await tryReadCommit(git, item.oid);
      if (!c) {
        missing.push(item.oid);
        done.add(item.oid);
        work.pop();
        continue;
      }
      byOid.set(item.oid, c);
    }
    if (!item.expanded) {
      item.expanded = true;
      for (const p of [...c.parents].reverse()) if (!excluded.has(p) && !done.has(p)) work.push({ oid: p, expanded: false });
      continue;
    }
    work.pop();
    done.add(item.oid);
    order.push(c);
  }
  return { commits: order, missing, excluded };
}

async function tryReadCommit(git: GitRepo, oid: string): Promise<GitCommit | undefined> {
  try {
    return await git.readCommit(oid);
  } catch {
    return undefined;
  }
}

/**
 * True when `ancestor` is `descendant` or in its history.
 * @example await isAncestor(git, trusted, head)
 */
export async function isAncestor(git: GitRepo, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  const seen = new Set<string>();
  const stack = [descendant];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (oid === ancestor) return true;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const c = await tryReadCommit(git, oid);
    if (c) for (const p of c.parents) if (!seen.has(p)) stack.push(p);
  }
  return false;
}

/** Where a recorded history and the current one part: the culprit of a rewrite. */
export interface RewriteInfo {
  /** The oldest commit of the recorded history that the current history lacks (the one rewritten or dropped). */
  rewritten: GitCommit | undefined;
  /** The last commit both histories share, if any. */
  forkPoint: string | undefined;
  /** The current history's commit that took the rewritten one's place (the child of the fork point). */
  replacement: GitCommit | undefined;
}

/**
 * Name what changed when `recorded` is no longer in the history of `current`: walk `recorded`'s
 * first parents back to the newest commit `current` still has.
 * @example const { rewritten } = await findRewrite(git, auditedTip, branchTip);
 */
export async function findRewrite(git: GitRepo, recorded: string, current: string): Promise<RewriteInfo> {
  const { excluded: currentHistory } = await commitRange(git, { tips: [], exclude: [current] });
  let rewritten: GitCommit | undefined;
  let forkPoint: string | undefined;
  for (let oid: string | undefined = recorded; oid; ) {
    if (currentHistory.has(oid)) {
      forkPoint = oid;
      break;
    }
    const c = await tryReadCommit(git, oid);
    if (!c) break;
    rewritten = c;
    oid = c.parents[0];
  }
  let replacement: GitCommit | undefined;
  if (rewritten) {
    // The current history's first-parent chain down to the fork point: its oldest commit replaced the culprit.
    for (let oid: string | undefined = current; oid && oid !== forkPoint; ) {
      const c = await tryReadCommit(git, oid);
      if (!c) break;
      replacement = c;
      oid = c.parents[0];
    }
    if (replacement && forkPoint !== undefined && !replacement.parents.includes(forkPoint) && replacement.parents.length > 0) replacement = undefined;
    if (replacement && forkPoint === undefined && replacement.parents.length > 0) replacement = undefined;
  }
  return { rewritten, forkPoint, replacement };
}

/**
 * "abc1234 (first line of the message)", for reports.
 * @example describeCommit(c) // '3f2a9c1 (import users)'
 */
export function describeCommit(c: Pick<GitCommit, 'oid' | 'message'>): string {
  const subject = c.message.split('\n')[0]!.trim();
  return `${c.oid.slice(0, 7)}${subject ? ` (${subject.length > 60 ? subject.slice(0, 57) + '…' : subject})` : ''}`;
}
