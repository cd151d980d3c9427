/**
 * Checking the audit log (`git prolly audit --verify`): the chain of entries (no entry removed,
 * inserted, reordered or edited), each entry's signature, and the log against the branches it
 * describes (a recorded commit that a branch no longer contains means history was rewritten; a
 * dataset commit after the last recorded one with no entry means an entry was removed or the commit
 * was made outside git-prolly). Each problem names the entry and, where there is one, the commit.
 */
import { ObjectDb } from '../repo/git-objects.js';
import type { GitRepo } from '../repo/git.js';
import { resolveFullRef } from '../repo/git-objects.js';
import type { AllowedSigners } from '../sign/allowed-signers.js';
import { toHex } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';
import { commitRange, describeCommit, findRewrite, isAncestor } from '../verify/history.js';
import { AUDIT_REF, readAuditLog, type AuditEntry } from './log.js';

/** One thing wrong with the log. */
export interface AuditProblem {
  /** object: a commit that does not hash to its id or cannot be read; format: not an entry; missing:
   * entries removed; edited: an entry changed after the next was written; chain: entries re-linked;
   * signature: bad, untrusted, stripped or missing signature; history: a recorded commit no longer in
   * its branch; unaudited: a dataset commit without an entry; against: a known entry no longer in the log. */
  check: 'object' | 'format' | 'missing' | 'edited' | 'chain' | 'signature' | 'history' | 'unaudited' | 'against';
  /** The entry number (seq) the problem is about, when known. */
  entry?: number;
  /** The audit entry's commit id. */
  oid?: string;
  /** A dataset commit the problem is about (history / unaudited). */
  commit?: string;
  message: string;
}

/** Outcome of {@link verifyAuditLog}. */
export interface AuditVerification {
  ok: boolean;
  head: string | undefined;
  entries: number;
  /** Entries with a signature that verifies (whatever the signer). */
  signed: number;
  /** Entries signed by an allowed signer (0 without an allowed-signers file). */
  trusted: number;
  /** Branches checked against the log. */
  refsChecked: string[];
  problems: AuditProblem[];
  notes: string[];
}

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditOptions {
  /** Who may sign entries; without it signatures are checked cryptographically only. */
  allowedSigners?: AllowedSigners;
  /** Every entry must be signed by an allowed signer. */
  requireSignatures?: boolean;
  /** A log head seen earlier (e.g. saved by the last CI run): it must still be in the log. */
  against?: string;
  /** Check the branches the log records (default true). */
  checkRefs?: boolean;
  /** Read the log from this commit instead of refs/prolly/audit. */
  head?: string;
}

const NO_SIGNERS: AllowedSigners = { source: '(no allowed-signers file)', entries: [] };

/**
 * Verify the audit log of a repository.
 * @example const r = await verifyAuditLog(git, { allowedSigners }); if (!r.ok) for (const p of r.problems) console.log(p.message);
 */
export async function verifyAuditLog(git: GitRepo, options: VerifyAuditOptions = {}): Promise<AuditVerification> {
  const { verifyCommitSignature } = await import('../sign/commit-signing.js');
  const records = await readAuditLog(git, options.head ? { head: options.head } : {});
  const result: AuditVerification = { ok: true, head: options.head ?? records.at(-1)?.oid, entries: 0, signed: 0, trusted: 0, refsChecked: [], problems: [], notes: [] };
  const problem = (p: AuditProblem) => result.problems.push(p);
  if (records.length === 0) result.notes.push(`${AUDIT_REF} has no entries`);

  let prev: { seq: number; oid: string; text: string } | undefined;
  // Once the chain is broken (an entry edited or removed), later entries had to be re-linked to hide
  // it: those re-links are consequences, not further findings.
  let chainBroken = false;
  const recordedCommits = new Set<string>();
  const latestByRef = new Map<string, { seq: number; oid: string; commit: string; time: string }>();
  for (const [i, r] of records.entries()) {
    if (r.unreadable) {
      problem({ check: 'object', oid: r.oid, message: `audit log commit ${r.oid} ${r.unreadable}: the log below it cannot be read` });
      prev = undefined;
      continue;
    }
    if (ObjectDb.hash('commit', r.commitObject) !== r.oid) {
      problem({ check: 'object', oid: r.oid, message: `audit log commit ${r.oid} does not hash to its id: the object was altered in place` });
    }
    const entry = r.entry;
    if (!entry || r.text === undefined) {
      problem({ check: 'format', oid: r.oid, message: `commit ${r.oid} on ${AUDIT_REF} is not an audit entry (message: ${JSON.stringify(r.message.split('\n')[0]!.slice(0, 60))})` });
      prev = undefined;
      continue;
    }
    result.entries++;
    const label = `entry #${entry.seq} (${r.oid.slice(0, 12)})`;
    if (r.parents.length > 1) problem({ check: 'chain', entry: entry.seq, oid: r.oid, message: `${label} has ${r.parents.length} parents: the log must be a single chain` });
    if (i === 0 || !prev) {
      if (i === 0 && entry.seq !== 1) {
        problem({ check: 'missing', entry: entry.seq, oid: r.oid, message: `entries #1–#${entry.seq - 1} are missing: the log starts at ${label}` });
      }
      if (i === 0 && (entry.prev !== null || entry.prevHash !== null) && entry.seq === 1) {
        problem({ check: 'chain', entry: entry.seq, oid: r.oid, message: `${label} is the first entry but records a previous one (${entry.prev})` });
      }
    } else {
      const textHash = toHex(sha256(new TextEncoder().encode(prev.text)));
      if (entry.seq > prev.seq + 1) {
        const gap = entry.seq - prev.seq - 1;
        chainBroken = true;
        problem({
          check: 'missing',
          entry: prev.seq + 1,
          oid: r.oid,
          message: `${gap === 1 ? `entry #${prev.seq + 1} is` : `entries #${prev.seq + 1}–#${entry.seq - 1} are`} missing: ${label} follows entry #${prev.seq} (${prev.oid.slice(0, 12)}), but was written after ${entry.prev ? entry.prev.slice(0, 12) : 'another entry'}`,
        });
      } else if (entry.seq !== prev.seq + 1) {
        problem({ check: 'chain', entry: entry.seq, oid: r.oid, message: `${label} follows entry #${prev.seq}: entries are out of order (re-linked or duplicated)` });
      } else if (entry.prevHash !== textHash) {
        chainBroken = true;
        problem({
          check: 'edited',
          entry: prev.seq,
          oid: prev.oid,
          message: `entry #${prev.seq} (${prev.oid.slice(0, 12)}) was edited or replaced after entry #${entry.seq} was written: its text hashes to ${textHash.slice(0, 16)}…, entry #${entry.seq} recorded ${String(entry.prevHash).slice(0, 16)}…`,
        });
      } else if (entry.prev !== prev.oid && !chainBroken) {
        chainBroken = true;
        problem({
          check: 'chain',
          entry: prev.seq,
          oid: prev.oid,
          message: `entry #${prev.seq} was rewritten: its text is unchanged but its commit is ${prev.oid.slice(0, 12)}, not ${String(entry.prev).slice(0, 12)} as entry #${entry.seq} recorded (signature or metadata changed)`,
        });
      }
    }
    prev = { seq: entry.seq, oid: r.oid, text: r.text };

    // Signatures: a bad one is always a problem; trust needs an allowed-signers file.
    const sig = verifyCommitSignature({ commitObject: r.commitObject, allowedSigners: options.allowedSigners ?? NO_SIGNERS });
    if (sig.status === 'good' || sig.status === 'untrusted') {
      result.signed++;
      if (sig.status === 'good') result.trusted++;
      if (entry.who.signer && sig.fingerprint !== entry.who.signer) {
        problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label} is signed by ${sig.fingerprint}, but names ${entry.who.signer} as its signer` });
      } else if (sig.status === 'untrusted' && options.allowedSigners) {
        problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label} is signed by ${sig.fingerprint}, which ${options.allowedSigners.source} does not allow` });
      }
    } else if (sig.status === 'bad') {
      problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label}: the signature does not verify (${sig.reason}): the entry was changed after it was signed` });
    } else if (sig.status === 'unsigned') {
      if (entry.who.signer) {
        problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label} names signer ${entry.who.signer} but carries no signature: it was stripped` });
      } else if (options.requireSignatures) {
        problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label} is not signed (signatures are required)` });
      }
    } else if (options.requireSignatures) {
      problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label}: ${sig.reason}` });
    }
    if (options.requireSignatures && sig.status === 'untrusted' && !options.allowedSigners) {
      problem({ check: 'signature', entry: entry.seq, oid: r.oid, message: `${label}: signatures are required, but no allowed-signers file says who may sign` });
    }

    noteCommits(entry, r.oid, recordedCommits, latestByRef);
  }

  if (options.against) {
    if (!records.some((r) => r.oid === options.against)) {
      problem({ check: 'against', oid: options.against, message: `the log no longer contains ${options.against}, an entry seen before: the log was rewritten or truncated` });
    }
  }

  if (options.checkRefs !== false) await checkRefs(git, latestByRef, recordedCommits, result);
  result.ok = result.problems.length === 0;
  return result;
}

function noteCommits(entry: AuditEntry, oid: string, recorded: Set<string>, latestByRef: Map<string, { seq: number; oid: string; commit: string; time: string }>): void {
  const after = entry.commits?.after;
  if (!after) return;
  recorded.add(after);
  if (entry.ref && ['commit', 'merge', 'ack'].includes(entry.op)) latestByRef.set(entry.ref, { seq: entry.seq, oid, commit: after, time: entry.time });
}

/** Each branch the log records must still contain the last commit recorded for it, and every later dataset commit must have an entry. */
async function checkRefs(
  git: GitRepo,
  latestByRef: Map<string, { seq: number; oid: string; commit: string; time: string }>,
  recorded: Set<string>,
  result: AuditVerification,
): Promise<void> {
  for (const [ref, last] of latestByRef) {
    const tip = resolveFullRef(git.paths, ref);
    if (!tip) {
      result.notes.push(`${ref} (last recorded in entry #${last.seq}) no longer exists`);
      continue;
    }
    result.refsChecked.push(ref);
    const problems = await checkBranch(git, { ref, tip, recordedTip: last.commit, entry: last.seq, recorded });
    result.problems.push(...problems);
  }
}

/**
 * A branch against the audit log: `recordedTip` (what entry `entry` recorded) must be in the branch's
 * history, and every commit after it that changed datasets must be recorded by some entry.
 * @example const problems = await checkBranch(git, { ref: 'refs/heads/main', tip, recordedTip, entry: 7, recorded });
 */
export async function checkBranch(
  git: GitRepo,
  o: { ref: string; tip: string; recordedTip: string; entry: number; recorded?: Set<string> },
): Promise<AuditProblem[]> {
  const out: AuditProblem[] = [];
  const branch = o.ref.replace(/^refs\/heads\//, '');
  if (!(await isAncestor(git, o.recordedTip, o.tip))) {
    const rw = await findRewrite(git, o.recordedTip, o.tip);
    const culprit = rw.rewritten ? `commit ${describeCommit(rw.rewritten)}` : `commit ${o.recordedTip.slice(0, 12)}`;
    const now = rw.replacement ? `; in its place the branch now has ${describeCommit(rw.replacement)}` : '';
    const fork = rw.forkPoint ? ` after ${rw.forkPoint.slice(0, 7)}` : '';
    out.push({
      check: 'history',
      entry: o.entry,
      commit: rw.rewritten?.oid ?? o.recordedTip,
      message: `history of ${branch} was rewritten${fork}: ${culprit} is no longer in it (audit entry #${o.entry} recorded ${o.recordedTip.slice(0, 12)} at its tip; it is now ${o.tip.slice(0, 12)})${now}`,
    });
    return out;
  }
  if (!o.recorded) return out;
  const { commits } = await commitRange(git, { tips: [o.tip], exclude: [o.recordedTip] });
  for (const c of commits) {
    if (o.recorded.has(c.oid)) continue;
    const mine = await git.datasetsTreeAt(c.oid);
    const parentTrees = await Promise.all(c.parents.map((p) => git.datasetsTreeAt(p).catch(() => undefined)));
    const changes = c.parents.length === 0 ? mine !== undefined : parentTrees.every((t) => t !== mine);
    if (!changes) continue;
    out.push({
      check: 'unaudited',
      commit: c.oid,
      message: `commit ${describeCommit(c)} on ${branch} changed datasets but has no audit entry: an entry was removed, or the commit was made outside git-prolly (acknowledge it with git prolly audit --ack "<why>")`,
    });
  }
  return out;
}
