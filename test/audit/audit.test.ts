/**
 * The audit log through the real CLI: commands append entries to refs/prolly/audit (signed when a key
 * is configured, so git verify-commit checks them), `git prolly audit --verify` checks the chain, and
 * an entry removed or edited — in the middle, at the end, or a signature stripped — is detected with
 * the entry named. The log travels with `git push` through the documented refspec.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, type TestRepo } from '../cli/helpers.js';
import { signingRepo, type SigningRepo } from '../verify/helpers.js';

beforeAll(ensureBuilt, 300_000);

interface Entry {
  seq: number;
  op: string;
  who: { name: string; email: string; signer?: string };
  ref: string | null;
  commits: { before: string | null; after: string | null } | null;
  roots: { before: Record<string, string>; after: Record<string, string> };
  prev: string | null;
  prevHash: string | null;
  details: Record<string, unknown>;
}

const entries = (r: TestRepo) => (JSON.parse(r.ok(['audit', '--json'])) as { oid: string; entry: Entry }[]).reverse();
const verifyAudit = (r: TestRepo, args: string[] = []) => {
  const run = r.prolly(['audit', '--verify', '--json', ...args]);
  return { code: run.code, result: JSON.parse(run.stdout) as { ok: boolean; entries: number; signed: number; trusted: number; problems: { check: string; entry?: number; oid?: string; commit?: string; message: string }[] } };
};

/**
 * Rewrite the audit chain with git plumbing, as an attacker with write access would: `edit` maps each
 * entry's raw commit text (oldest first) to new text, or null to drop it; later entries are re-parented
 * onto the new chain. Returns the new head.
 */
function rewriteLog(r: TestRepo, edit: (text: string, index: number) => string | null): string {
  const oids = r.gitOk(['rev-list', '--reverse', '--first-parent', 'refs/prolly/audit']).trim().split('\n');
  let parent: string | undefined;
  for (const [i, oid] of oids.entries()) {
    const original = r.gitOk(['cat-file', 'commit', oid]);
    const edited = edit(original, i);
    if (edited === null) continue;
    const lines = edited.split('\n').filter((l, j) => !(l.startsWith('parent ') && j < edited.indexOf('\n\n')));
    const text = lines.join('\n').replace(/^(tree [0-9a-f]{40}\n)/, parent ? `$1parent ${parent}\n` : '$1');
    parent = r.gitOk(['hash-object', '-t', 'commit', '-w', '--stdin'], { input: text }).trim();
  }
  r.gitOk(['update-ref', 'refs/prolly/audit', parent!]);
  return parent!;
}

/** A repo with a few audited operations: commit, import, merge. */
function auditedRepo(options: { sign: boolean }): SigningRepo {
  const r = signingRepo({ sign: options.sign });
  if (!options.sign) r.config((t) => t.replace(/^signing_key = .*\n/m, ''));
  r.ok(['put', 'users', 'alice', '{"age":31}']);
  r.ok(['commit', '-m', 'alice']);
  const csv = join(r.home, 'orders.csv');
  writeFileSync(csv, 'id,total\n1,10\n2,20\n3,30\n');
  r.ok(['import', 'orders', csv, '--key', 'id']);
  r.ok(['commit', '-m', 'orders']);
  r.gitOk(['checkout', '-q', '-b', 'feature']);
  r.ok(['put', 'users', 'bob', '{"age":40}']);
  r.ok(['commit', '-m', 'bob']);
  r.gitOk(['checkout', '-q', 'main']);
  r.ok(['put', 'users', 'carol', '{"age":22}']);
  r.ok(['commit', '-m', 'carol']);
  r.ok(['merge', 'feature', '-m', 'merge feature']);
  return r;
}

describe('a signed audit log', () => {
  let r: SigningRepo;
  beforeAll(() => {
    r = auditedRepo({ sign: true });
  });
  afterAll(() => r.cleanup());

  test('each state-changing command appended one chained, signed entry with roots before and after', () => {
    const log = entries(r);
    expect(log.map((e) => e.entry.op)).toEqual(['commit', 'import', 'commit', 'commit', 'commit', 'merge']);
    expect(log.map((e) => e.entry.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [i, { entry }] of log.entries()) {
      expect(entry.prev).toBe(i === 0 ? null : log[i - 1]!.oid);
      expect(entry.who.email).toBe('committer@example.org');
      expect(entry.who.signer).toMatch(/^SHA256:/);
    }
    // The import entry: the dataset did not exist before; after, the root the pointer file names.
    const imp = log[1]!.entry;
    expect(imp.roots.before).toEqual({});
    expect(imp.details).toMatchObject({ rows: 3 });
    const ordersRoot = /root ([0-9a-f]{64})/.exec(r.gitOk(['show', 'HEAD:.prolly/datasets/orders']))![1];
    expect(imp.roots.after).toEqual({ orders: ordersRoot });
    // The merge entry records the merge commit on main and the new users root.
    const merge = log[5]!.entry;
    expect(merge.ref).toBe('refs/heads/main');
    expect(merge.commits!.after).toBe(r.head());
    expect(merge.roots.after.users).toBe(/root ([0-9a-f]{64})/.exec(r.gitOk(['show', 'HEAD:.prolly/datasets/users']))![1]);
    // Entries are commits git itself can verify.
    const v = r.git(['verify-commit', 'refs/prolly/audit']);
    expect(v.stderr).toContain('Good "git" signature for committer@example.org');
  });

  test('audit --verify passes on the intact log; the human listing shows the entries', () => {
    const { code, result } = verifyAudit(r, ['--require-signatures']);
    expect(result.problems).toEqual([]);
    expect(code).toBe(0);
    expect(result).toMatchObject({ ok: true, entries: 6, signed: 6, trusted: 6 });
    const listing = r.ok(['audit', '-n', '2']);
    expect(listing).toMatch(/^#6 .* merge /m);
    expect(listing).toMatch(/^#5 .* commit /m);
    expect(listing).not.toMatch(/^#4 /m);
  });

  test('an entry edited in place (chain re-linked after it) fails its signature and the hash chain', () => {
    const saved = r.head('refs/prolly/audit');
    rewriteLog(r, (text, i) => (i === 2 ? text.replace('"email":"committer@example.org"', '"email":"mallory@example.org"') : text));
    const { code, result } = verifyAudit(r);
    expect(code).toBe(1);
    const edited = result.problems.filter((p) => p.check === 'edited');
    expect(edited).toHaveLength(1);
    expect(edited[0]!.entry).toBe(3);
    // The edited entry's own signature no longer verifies; the re-linked ones' neither (their parent changed).
    expect(result.problems.filter((p) => p.check === 'signature').map((p) => p.entry)).toEqual([3, 4, 5, 6]);
    r.gitOk(['update-ref', 'refs/prolly/audit', saved]);
    expect(verifyAudit(r).code).toBe(0);
  });

  test('a stripped signature is detected: the entry names its signer', () => {
    const saved = r.head('refs/prolly/audit');
    rewriteLog(r, (text, i) => (i === 5 ? text.replace(/^gpgsig [\s\S]*?-----END SSH SIGNATURE-----\n/m, '') : text));
    expect(r.gitOk(['cat-file', 'commit', 'refs/prolly/audit'])).not.toContain('gpgsig');
    const { result } = verifyAudit(r);
    expect(result.problems).toEqual([expect.objectContaining({ check: 'signature', entry: 6 })]);
    expect(result.problems[0]!.message).toContain('carries no signature: it was stripped');
    r.gitOk(['update-ref', 'refs/prolly/audit', saved]);
  });

  test('the log travels with git push (documented refspec) and verifies in a clone', () => {
    const bare = mkdtempSync(join(tmpdir(), 'prolly-audit-remote-'));
    try {
      r.gitOk(['init', '-q', '--bare', '-b', 'main', bare]);
      r.gitOk(['remote', 'add', 'origin', bare]);
      r.gitOk(['config', '--add', 'remote.origin.push', 'refs/heads/*:refs/heads/*']);
      r.gitOk(['config', '--add', 'remote.origin.push', 'refs/prolly/audit:refs/prolly/audit']);
      r.gitOk(['push', '-q', 'origin']);
      expect(r.gitOk(['ls-remote', bare, 'refs/prolly/audit']).split('\t')[0]).toBe(r.head('refs/prolly/audit'));
      // Another clone fetches it with the matching fetch refspec and checks it.
      const clone = join(bare, '..', `${bare.split('/').pop()}-clone`);
      r.gitOk(['clone', '-q', bare, clone], { cwd: r.home });
      r.gitOk(['fetch', '-q', 'origin', 'refs/prolly/audit:refs/prolly/audit'], { cwd: clone });
      const run = r.prolly(['audit', '--verify', '--json'], { cwd: clone });
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, entries: 6, signed: 6 });
      expect(run.code).toBe(0);
      rmSync(clone, { recursive: true, force: true });
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});

describe('an unsigned audit log: the hash chain alone', () => {
  let r: SigningRepo;
  let intact: string;
  beforeAll(() => {
    r = auditedRepo({ sign: false });
    intact = r.head('refs/prolly/audit');
  });
  afterAll(() => r.cleanup());

  test('entries are unsigned and the intact log verifies', () => {
    expect(entries(r).every((e) => e.entry.who.signer === undefined)).toBe(true);
    expect(r.gitOk(['cat-file', 'commit', 'refs/prolly/audit'])).not.toContain('gpgsig');
    expect(verifyAudit(r)).toMatchObject({ code: 0, result: { ok: true, entries: 6, signed: 0 } });
    // Required signatures are then missing, entry by entry.
    expect(verifyAudit(r, ['--require-signatures']).result.problems.map((p) => p.entry)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('an edited entry is named by the hash the next entry recorded', () => {
    rewriteLog(r, (text, i) => (i === 1 ? text.replace('"rows":3', '"rows":4') : text));
    const { code, result } = verifyAudit(r);
    expect(code).toBe(1);
    expect(result.problems).toEqual([expect.objectContaining({ check: 'edited', entry: 2 })]);
    expect(result.problems[0]!.message).toMatch(/^entry #2 \([0-9a-f]{12}\) was edited or replaced after entry #3 was written/);
    r.gitOk(['update-ref', 'refs/prolly/audit', intact]);
  });

  test('a removed entry in the middle is named', () => {
    rewriteLog(r, (text, i) => (i === 3 ? null : text));
    const { code, result } = verifyAudit(r);
    expect(code).toBe(1);
    expect(result.problems).toEqual([expect.objectContaining({ check: 'missing', entry: 4 })]);
    expect(result.problems[0]!.message).toContain('entry #4 is missing');
    r.gitOk(['update-ref', 'refs/prolly/audit', intact]);
  });

  test('a removed last entry is found from the branch: its commit has no entry', () => {
    const last = entries(r).at(-1)!.entry;
    r.gitOk(['update-ref', 'refs/prolly/audit', `${intact}~1`]);
    const { code, result } = verifyAudit(r);
    expect(code).toBe(1);
    expect(result.problems).toEqual([expect.objectContaining({ check: 'unaudited', commit: last.commits!.after })]);
    expect(result.problems[0]!.message).toContain('merge feature');
    r.gitOk(['update-ref', 'refs/prolly/audit', intact]);
  });

  test('--against: a head seen before must still be in the log', () => {
    expect(verifyAudit(r, ['--against', intact]).code).toBe(0);
    r.gitOk(['update-ref', 'refs/prolly/audit', `${intact}~2`]);
    const { result } = verifyAudit(r, ['--against', intact]);
    expect(result.problems.map((p) => p.check)).toContain('against');
    r.gitOk(['update-ref', 'refs/prolly/audit', intact]);
  });

  test('a dataset commit made with plain git is flagged until acknowledged', () => {
    r.ok(['put', 'users', 'dave', '{"age":50}']);
    r.gitOk(['add', '.prolly/datasets/users']);
    r.gitOk(['commit', '-q', '-m', 'dave, committed with plain git']);
    const { result } = verifyAudit(r);
    expect(result.problems).toEqual([expect.objectContaining({ check: 'unaudited', commit: r.head() })]);
    r.ok(['audit', '--ack', 'dave was added by hand']);
    expect(verifyAudit(r).code).toBe(0);
    expect(entries(r).at(-1)!.entry).toMatchObject({ op: 'ack', seq: 7, commits: { after: r.head() } });
  });
});
