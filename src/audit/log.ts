/**
 * The audit log: every state-changing command appends an entry — who, when, what, dataset roots
 * before and after, a hash of the previous entry, and a signature when a signing key is configured —
 * to the git ref `refs/prolly/audit`, so the log travels with `git push` like any ref.
 *
 * Each entry is a commit (empty tree) whose parent is the previous entry and whose message holds the
 * entry as one line of JSON after a readable subject. The chain is thus protected three ways: git
 * commit ids (each names its parent), `prevHash` (SHA-256 of the previous entry's JSON text, so the
 * chain holds without trusting SHA-1), and SSH signatures (namespace "git", so `git verify-commit`
 * checks an entry too). Verification lives in ./verify-log.ts.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { keyFileSigner, signingKeyPath } from '../repo/commit.js';
import { gitIdentity, readGitConfig } from '../repo/git-config.js';
import type { GitRepo } from '../repo/git.js';
import { resolveFullRef } from '../repo/git-objects.js';
import type { Repo } from '../repo/repo.js';
import { toHex } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';

/** The ref the log lives on. */
export const AUDIT_REF = 'refs/prolly/audit';
/** Version of the entry format (`v`). */
export const AUDIT_ENTRY_VERSION = 1;

/**
 * What kind of change an entry records. `ack` acknowledges a ref's current tip (e.g. after `git pull`);
 * push, fetch (also `pull`'s), tier, gc, repair and rekey change stored chunks, not history.
 */
export type AuditOp = 'commit' | 'merge' | 'import' | 'push' | 'fetch' | 'tier' | 'gc' | 'repair' | 'rekey' | 'ack';

/** Dataset name → root address (hex). */
export type RootMap = Record<string, string>;

/** One entry, as stored (JSON, keys in this order). */
export interface AuditEntry {
  v: typeof AUDIT_ENTRY_VERSION;
  /** 1 for the first entry, then +1 each. */
  seq: number;
  op: AuditOp;
  /** ISO-8601 UTC time of the change. */
  time: string;
  who: {
    name: string;
    email: string;
    /** Fingerprint (SHA256:…) of the key that signed this entry, when signed. */
    signer?: string;
  };
  /** One line saying what happened. */
  what: string;
  /** The branch (full ref name) the change is on, when there is one. */
  ref: string | null;
  /** The commit the ref pointed to before and after (commit / merge / ack). */
  commits: { before: string | null; after: string | null } | null;
  /** Dataset roots before and after, for the datasets the change touched. */
  roots: { before: RootMap; after: RootMap };
  /** Operation-specific figures (rows imported, chunks pushed, …). */
  details: Record<string, unknown>;
  /** Commit id of the previous entry (null for the first). */
  prev: string | null;
  /** SHA-256 (hex) of the previous entry's JSON text (null for the first). */
  prevHash: string | null;
}

/** An entry as read from the log. */
export interface AuditRecord {
  /** The entry's commit id. */
  oid: string;
  /** Parent ids of that commit (one, except for the first entry). */
  parents: string[];
  entry: AuditEntry;
  /** The exact JSON text stored (what `prevHash` covers). */
  text: string;
  /** The raw commit object (for signature checks). */
  commitObject: Uint8Array;
}

/** What a command passes to {@link appendAudit}. */
export interface AuditInput {
  op: AuditOp;
  what: string;
  ref?: string | null;
  commits?: { before: string | null; after: string | null } | null;
  roots?: { before?: RootMap; after?: RootMap };
  details?: Record<string, unknown>;
}

const SUBJECT = /^prolly audit #(\d+): /;

/**
 * The entry JSON of an audit commit's message, or undefined when the commit is not an audit entry.
 * @example parseAuditMessage(commit.message)?.entry.seq
 */
export function parseAuditMessage(message: string): { entry: AuditEntry; text: string } | undefined {
  if (!SUBJECT.test(message)) return undefined;
  const body = message.indexOf('\n\n');
  if (body < 0) return undefined;
  const text = message.slice(body + 2).replace(/\n$/, '');
  try {
    const entry = JSON.parse(text) as AuditEntry;
    if (typeof entry !== 'object' || entry === null || entry.v !== AUDIT_ENTRY_VERSION || !Number.isSafeInteger(entry.seq)) return undefined;
    return { entry, text };
  } catch {
    return undefined;
  }
}

/**
 * The current head of the audit log, or undefined when it has no entries.
 * @example const head = auditHead(git);
 */
export function auditHead(git: GitRepo): string | undefined {
  return resolveFullRef(git.paths, AUDIT_REF);
}

/**
 * Entries from the head back along first parents, oldest first. Commits that are not readable
 * audit entries are returned with `entry` undefined so a verifier can name them.
 * @example for (const r of await readAuditLog(git)) console.log(r.entry?.seq, r.entry?.op)
 */
export async function readAuditLog(git: GitRepo, options: { head?: string; limit?: number } = {}): Promise<(Omit<AuditRecord, 'entry' | 'text'> & { entry?: AuditEntry; text?: string; message: string; unreadable?: string })[]> {
  const out: (Omit<AuditRecord, 'entry' | 'text'> & { entry?: AuditEntry; text?: string; message: string; unreadable?: string })[] = [];
  let oid = options.head ?? auditHead(git);
  const limit = options.limit ?? Infinity;
  const seen = new Set<string>();
  while (oid && out.length < limit && !seen.has(oid)) {
    seen.add(oid);
    let obj;
    try {
      obj = git.objects.read(oid);
    } catch (e) {
      out.push({ oid, parents: [], commitObject: new Uint8Array(0), message: '', unreadable: (e as Error).message });
      break;
    }
    if (!obj || obj.type !== 'commit') {
      out.push({ oid, parents: [], commitObject: new Uint8Array(0), message: '', unreadable: obj ? `is a ${obj.type}, not a commit` : 'is missing' });
      break;
    }
    const c = await git.readCommit(oid);
    const parsed = parseAuditMessage(c.message);
    out.push({ oid, parents: c.parents, commitObject: new Uint8Array(obj.data), message: c.message, ...(parsed ?? {}) });
    oid = c.parents[0];
  }
  return out.reverse();
}

/** The signing key configured for the repository ([security] signing_key), if any. */
async function auditSigner(repo: Repo): Promise<{ sign: (payload: string) => Promise<string>; fingerprint: string } | undefined> {
  const setting = repo.config.security.signing_key;
  if (!setting) return undefined;
  const path = signingKeyPath(repo, setting);
  const { readOpenSshPrivateKeyFile, sshFingerprint, sshPublicKeyOf } = await import('../sign/index.js');
  const key = await readOpenSshPrivateKeyFile(path);
  return { sign: keyFileSigner(path), fingerprint: sshFingerprint(sshPublicKeyOf(key)) };
}

/**
 * Dataset roots at a commit (all datasets, or only `names`), as hex.
 * @example await rootsAt(git, head, ['users']) // { users: '9f86…' }
 */
export async function rootsAt(git: GitRepo, commit: string | null | undefined, names?: readonly string[]): Promise<RootMap> {
  const out: RootMap = {};
  if (!commit) return out;
  for (const [name, blob] of await git.datasetBlobsAt(commit)) {
    if (names && !names.includes(name)) continue;
    out[name] = toHex((await git.pointerBlob(blob, `${commit.slice(0, 12)}:.prolly/datasets/${name}`)).root);
  }
  return out;
}

/**
 * Append an entry to the audit log (under the repository's write lock when the caller holds it; the
 * ref update itself is compare-and-swap, retried when another process appended meanwhile). Signed
 * when `[security] signing_key` is set. Returns the new entry and its commit id.
 * @example await appendAudit(repo, { op: 'import', what: 'import users.csv into users', roots: { before, after } })
 */
export async function appendAudit(repo: Repo, input: AuditInput): Promise<{ oid: string; entry: AuditEntry }> {
  const git = await repo.git();
  const config = readGitConfig(repo.paths);
  const signer = await auditSigner(repo);
  const emptyTree = await git.writeTree([]);
  for (let attempt = 0; ; attempt++) {
    const identity = gitIdentity({ role: 'committer', config });
    const prev = auditHead(git);
    let seq = 1;
    let prevHash: string | null = null;
    if (prev) {
      const c = await git.readCommit(prev);
      const parsed = parseAuditMessage(c.message);
      if (!parsed) throw new ProllyError(ErrorCodes.GIT_STATE, `${AUDIT_REF} points at ${prev}, which is not an audit entry; check it with git prolly audit --verify`, { oid: prev });
      seq = parsed.entry.seq + 1;
      prevHash = toHex(sha256(new TextEncoder().encode(parsed.text)));
    }
    const entry: AuditEntry = {
      v: AUDIT_ENTRY_VERSION,
      seq,
      op: input.op,
      time: new Date(identity.timestamp * 1000).toISOString(),
      who: { name: identity.name, email: identity.email, ...(signer ? { signer: signer.fingerprint } : {}) },
      what: input.what.split('\n')[0]!,
      ref: input.ref ?? null,
      commits: input.commits ?? null,
      roots: { before: input.roots?.before ?? {}, after: input.roots?.after ?? {} },
      details: input.details ?? {},
      prev: prev ?? null,
      prevHash,
    };
    const text = JSON.stringify(entry);
    const message = `prolly audit #${seq}: ${input.op} — ${entry.what}\n\n${text}\n`;
    const { writeCommit } = await import('../repo/commit.js');
    const oid = await writeCommit(git, { tree: emptyTree, parents: prev ? [prev] : [], author: identity, committer: identity, message, ...(signer ? { sign: signer.sign } : {}) });
    try {
      await git.updateRef({ ref: AUDIT_REF, newOid: oid, expectedOld: prev, message: `prolly audit #${seq}: ${input.op}`, identity, alsoHead: false });
      return { oid, entry };
    } catch (err) {
      // Another process appended between our read and our update: rebuild on top of its entry.
      if (attempt < 5 && err instanceof ProllyError && err.code === ErrorCodes.GIT_STATE) {
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
        continue;
      }
      throw err;
    }
  }
}

/**
 * The audit entry for a commit (or merge commit) a command just made: roots before (first parent) and
 * after, for the datasets it changed.
 * @example await appendCommitAudit(repo, { op: 'commit', commit: r.oid, ref: r.branch, datasets: r.datasets })
 */
export async function appendCommitAudit(
  repo: Repo,
  options: { op: 'commit' | 'merge'; commit: string; before?: string | null; ref?: string | null; datasets?: readonly string[]; details?: Record<string, unknown> },
): Promise<{ oid: string; entry: AuditEntry }> {
  const git = await repo.git();
  const c = await git.readCommit(options.commit);
  const before = options.before !== undefined ? options.before : (c.parents[0] ?? null);
  const subject = c.message.split('\n')[0]!;
  const [rootsBefore, rootsAfter] = await Promise.all([rootsAt(git, before, options.datasets), rootsAt(git, options.commit, options.datasets)]);
  return appendAudit(repo, {
    op: options.op,
    what: `${options.op} ${options.commit.slice(0, 12)} "${subject}"${options.datasets?.length ? ` (${options.datasets.join(', ')})` : ''}`,
    ref: options.ref ?? null,
    commits: { before, after: options.commit },
    roots: { before: rootsBefore, after: rootsAfter },
    details: { parents: c.parents, ...(options.details ?? {}) },
  });
}

/**
 * Append an entry after a command's work without ever failing the command: the change is already
 * made, so an audit problem (unreadable signing key, odd ref) becomes a warning on stderr.
 * @example await recordAudit(() => appendAudit(repo, { op: 'tier', what: 'moved 12 chunks' }))
 */
export async function recordAudit(append: () => Promise<unknown>): Promise<void> {
  try {
    await append();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    process.stderr.write(`git-prolly: warning: the audit log (${AUDIT_REF}) was not updated: ${why}\n`);
  }
}
