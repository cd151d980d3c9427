/**
 * Each kind of tampering is detected through the real CLI, with the culprit named: a flipped byte in a
 * stored node (commit, dataset, chunk), an old commit rewritten with amend + rebase (the commit that
 * was replaced), and proofs with an altered value, an altered path node, or an absence claim for a key
 * that exists.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Node } from '../../src/tree/node.js';
import { ensureBuilt } from '../cli/helpers.js';
import { corruptStoredChunk, proofPath, sha256Hex, signingRepo, type SigningRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

const key = (i: number) => `k${String(i).padStart(5, '0')}`;

function csv(rows: number, tag: string): string {
  let out = 'id,name,note\n';
  for (let i = 0; i < rows; i++) out += `${key(i)},name ${i},${tag} ${'x'.repeat(i % 40)}\n`;
  return out;
}

describe('a flipped byte in a stored node', () => {
  let r: SigningRepo;
  let c1: string;
  let c2: string;
  beforeAll(() => {
    r = signingRepo({ compression: 'none' });
    const file = join(r.home, 'users.csv');
    writeFileSync(file, csv(3000, 'v1'));
    r.ok(['import', 'users', file, '--key', 'id']);
    r.ok(['commit', '-m', 'import users']);
    c1 = r.head();
    r.ok(['put', 'users', key(2000), '{"changed":true}']);
    r.ok(['commit', '-m', 'change one user']);
    c2 = r.head();
  });
  afterAll(() => r.cleanup());

  test('an intact repository verifies, and each commit costs only the nodes it added', () => {
    const { code, report } = r.verifyJson(['--require-signatures', '--from', 'HEAD~2']);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    const byCommit = Object.fromEntries(report.commits.map((c) => [c.commit, c.chunks]));
    const height = proofPath(r, 'users', key(2000)).length;
    expect(height).toBeGreaterThanOrEqual(2);
    // The import commit checks its whole tree; the one-row change only its path of new nodes.
    expect(byCommit[c1]!).toBeGreaterThan(20);
    expect(byCommit[c2]!).toBeGreaterThanOrEqual(1);
    expect(byCommit[c2]!).toBeLessThanOrEqual(height + 1);
  });

  test('the corrupted leaf is reported with the commit that introduced it, its dataset and its address', () => {
    const path = proofPath(r, 'users', key(2000));
    const leaf = path.at(-1)!;
    corruptStoredChunk(r, leaf, Math.floor(leaf.length / 2));
    const { code, report } = r.verifyJson();
    expect(code).toBe(1);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ check: 'corrupt', commit: c2, dataset: 'users', chunk: sha256Hex(leaf) });
    expect(report.problems[0]!.message).toMatch(/hash to [0-9a-f]{64}/);
    // An incremental run that starts after the import finds it too (it is new in c2).
    const incremental = r.verifyJson(['--from', c1]);
    expect(incremental.code).toBe(1);
    expect(incremental.report.problems.map((p) => [p.commit, p.chunk])).toEqual([[c2, sha256Hex(leaf)]]);
    // Human output: one line naming all three, then the summary; exit 1.
    const human = r.prolly(['verify']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`✗ corrupt [commit ${c2.slice(0, 7)} · dataset users · chunk ${sha256Hex(leaf).slice(0, 16)}`);
    expect(human.stdout).toMatch(/FAILED: 1 problem/);
  });

  test('a corrupted node shared by both commits is blamed on the first commit that has it', () => {
    const path = proofPath(r, 'users', key(10), c1);
    const leaf = path.at(-1)!;
    // This leaf is untouched by c2, so only c1 introduced it.
    expect(proofPath(r, 'users', key(10), c2).at(-1)).toEqual(leaf);
    corruptStoredChunk(r, leaf, 5);
    const { report } = r.verifyJson();
    const problem = report.problems.find((p) => p.chunk === sha256Hex(leaf));
    expect(problem).toMatchObject({ check: 'corrupt', commit: c1, dataset: 'users' });
    expect(report.problems.filter((p) => p.chunk === sha256Hex(leaf))).toHaveLength(1);
  });

  test('a JUnit report lists each commit, with the failure under the culprit', () => {
    const junit = join(r.home, 'verify.xml');
    expect(r.prolly(['verify', '--junit', junit]).code).toBe(1);
    const xml = readFileSync(junit, 'utf8') as string;
    expect(xml).toMatch(/^<\?xml/);
    expect(xml).toContain(`name="commit ${c2.slice(0, 12)} change one user"`);
    expect(xml.match(/<failure /g)!.length).toBe(2);
    expect(xml).toMatch(/tests="4" failures="2"/);
  });
});

describe('an old commit rewritten with amend + rebase', () => {
  let r: SigningRepo;
  let c2: string;
  let c3: string;
  beforeAll(() => {
    r = signingRepo();
    r.ok(['put', 'prices', 'apple', '1.00']);
    r.ok(['put', 'stock', 'apple', '10']);
    r.ok(['commit', '-m', 'prices and stock']);
    r.ok(['put', 'prices', 'apple', '1.10']);
    r.ok(['commit', '-m', 'raise apple price']);
    c2 = r.head();
    r.ok(['put', 'stock', 'apple', '9']);
    r.ok(['commit', '-m', 'sell one apple']);
    c3 = r.head();
    expect(r.verifyJson(['--require-signatures', '--from', 'HEAD~3']).code).toBe(0);

    // Rewrite c2 with plain git (its price changed after the fact), then replay c3 on top.
    r.gitOk(['checkout', '-q', c2]);
    r.ok(['put', 'prices', 'apple', '0.10']);
    r.gitOk(['add', '.prolly/datasets/prices']);
    r.gitOk(['commit', '-q', '--amend', '--no-edit']);
    const amended = r.head();
    r.gitOk(['rebase', '-q', '--onto', amended, c2, 'main']);
    expect(r.head()).not.toBe(c3);
    expect(r.ok(['get', 'prices', 'apple'])).toBe('0.10');
  });
  afterAll(() => r.cleanup());

  test('verify names the rewritten commit (from the audit log) and fails', () => {
    const { code, report } = r.verifyJson();
    expect(code).toBe(1);
    const history = report.problems.filter((p) => p.check === 'history');
    expect(history).toHaveLength(1);
    expect(history[0]!.commit).toBe(c2);
    expect(history[0]!.message).toContain(`commit ${c2.slice(0, 7)} (raise apple price) is no longer in it`);
    expect(history[0]!.message).toContain('history of main was rewritten');
  });

  test('--require-signatures names the replayed commits, which lost their signatures', () => {
    const { report } = r.verifyJson(['--require-signatures', '--from', 'HEAD~2', '--no-audit']);
    const unsigned = report.problems.filter((p) => p.check === 'signature').map((p) => p.commit);
    expect(unsigned).toEqual([r.head('HEAD~1'), r.head()]);
  });

  test('a --from that is no longer in the history is reported as a rewrite, naming the culprit', () => {
    const { code, report } = r.verifyJson(['--from', c3, '--no-audit']);
    expect(code).toBe(1);
    expect(report.problems[0]).toMatchObject({ check: 'history', commit: c2 });
    expect(report.problems[0]!.message).toContain(`${c3.slice(0, 12)} (--from) is not in the history`);
  });

  test('git prolly audit --verify reports it too; an acknowledgement clears the history check', () => {
    const audit = r.prolly(['audit', '--verify']);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toContain(`commit ${c2.slice(0, 7)} (raise apple price) is no longer in it`);
    r.ok(['audit', '--ack', 'repriced on purpose']);
    expect(r.prolly(['audit', '--verify']).code).toBe(0);
    expect(r.verifyJson().code).toBe(0);
  });
});

describe('tampered proofs are rejected by verify-proof (exit 1, naming the check)', () => {
  let r: SigningRepo;
  let proofFile: string;
  beforeAll(() => {
    r = signingRepo();
    const file = join(r.home, 'users.csv');
    writeFileSync(file, csv(2000, 'p'));
    r.ok(['import', 'users', file, '--key', 'id']);
    r.ok(['commit', '-m', 'users']);
    proofFile = join(r.home, 'k01234.json');
    r.ok(['proof', 'users', key(1234), '-o', proofFile]);
  });
  afterAll(() => r.cleanup());

  let tampered = 0;
  const load = () => JSON.parse(readFileSync(proofFile, 'utf8'));
  const check = (proof: unknown, args: string[]) => {
    const f = join(r.home, `tampered-${++tampered}.json`);
    writeFileSync(f, JSON.stringify(proof));
    const run = r.prolly(['verify-proof', f, ...args, '--json']);
    return { code: run.code, out: JSON.parse(run.stdout) as { valid: boolean; check?: string; node?: number; signature?: { status: string } } };
  };

  test('the genuine proof is valid against the commit, the root, and the allowed signers', () => {
    const commit = r.head();
    const root = load().root as string;
    expect(check(load(), ['--commit', commit])).toMatchObject({ code: 0, out: { valid: true } });
    expect(check(load(), ['--root', root])).toMatchObject({ code: 0, out: { valid: true } });
    expect(check(load(), ['--allowed-signers', r.signers])).toMatchObject({ code: 0, out: { valid: true, signature: { status: 'good' } } });
    const human = r.prolly(['verify-proof', proofFile, '--allowed-signers', r.signers]);
    expect(human.stdout).toContain(`valid: key "${key(1234)}" =`);
    expect(human.stdout).toContain('signed by committer@example.org');
  });

  test('an altered value, an altered path node, an altered pointer in the anchor', () => {
    const commit = r.head();
    const p1 = load();
    expect(Buffer.from(p1.value.hex, 'hex').toString()).toContain('name 1234');
    p1.value.hex = Buffer.from(Buffer.from(p1.value.hex, 'hex').toString().replace('name 1234', 'name 9999')).toString('hex');
    expect(check(p1, ['--commit', commit])).toMatchObject({ code: 1, out: { valid: false, check: 'value' } });

    const p2 = load();
    const node = Buffer.from(p2.path[1], 'base64');
    node[20]! ^= 1;
    p2.path[1] = node.toString('base64');
    expect(check(p2, ['--commit', commit])).toMatchObject({ code: 1, out: { valid: false, check: 'hash', node: 1 } });

    const p3 = load();
    p3.anchor.pointer = Buffer.from(Buffer.from(p3.anchor.pointer, 'base64').toString().replace(/count \d+/, 'count 1')).toString('base64');
    expect(check(p3, ['--commit', commit])).toMatchObject({ code: 1, out: { valid: false, check: 'anchor' } });
  });

  test('an absence proof for a key that exists (a neighbour\'s proof relabelled)', () => {
    // A present key that is not the last of its leaf: the absent key just above it falls in the same leaf.
    const leafBytes = Buffer.from(load().path.at(-1), 'base64');
    const leaf = Node.decode(leafBytes, new Uint8Array(32));
    const present = Buffer.from(leaf.key(0)).toString();
    expect(leaf.size).toBeGreaterThan(1);
    const neighbour = join(r.home, 'absent.json');
    r.ok(['proof', 'users', `${present}a`, '-o', neighbour]);
    const forged = JSON.parse(readFileSync(neighbour, 'utf8'));
    expect(forged.kind).toBe('absence');
    forged.key = Buffer.from(present).toString('hex');
    const r1 = check(forged, ['--commit', r.head()]);
    expect(r1).toMatchObject({ code: 1, out: { valid: false, check: 'presence' } });
    const human = r.prolly(['verify-proof', neighbour, '--commit', r.head()]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`"${present}a" is absent`);
  });

  test('a proof from a commit signed by a key that is not allowed fails --allowed-signers', () => {
    const other = join(r.home, 'other');
    r.ok(['keygen', '--out', other, '--principal', 'mallory@example.org']);
    r.ok(['put', 'users', key(1234), '{"forged":true}']);
    r.ok(['commit', '-S', other, '-m', 'forged']);
    const forgedProof = join(r.home, 'forged.json');
    r.ok(['proof', 'users', key(1234), '-o', forgedProof]);
    const run = r.prolly(['verify-proof', forgedProof, '--allowed-signers', r.signers]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/INVALID \(anchor\).*no principal .* is allowed/);
    // Checked against the commit id alone it is a valid proof: trust is the caller's choice.
    expect(r.prolly(['verify-proof', forgedProof, '--commit', r.head()]).code).toBe(0);
  });

  test('a range proof from the CLI verifies; with an entry removed it does not', () => {
    const file = join(r.home, 'range.json');
    r.ok(['proof', 'users', '--start', key(100), '--end', key(199), '-o', file, '--at', 'HEAD']);
    const proof = JSON.parse(readFileSync(file, 'utf8'));
    expect(proof.kind).toBe('range');
    expect(proof.entries).toHaveLength(100);
    const ok = check(proof, ['--commit', proof.anchor.commit]);
    expect(ok).toMatchObject({ code: 0, out: { valid: true } });
    proof.entries.splice(50, 1);
    expect(check(proof, ['--commit', proof.anchor.commit])).toMatchObject({ code: 1, out: { valid: false, check: 'entries' } });
  });

  test('nothing to trust, or an unreadable file, is exit 2', () => {
    expect(r.prolly(['verify-proof', proofFile]).code).toBe(2);
    expect(r.prolly(['verify-proof', join(r.home, 'nope.json'), '--root', '0'.repeat(64)]).code).toBe(2);
  });
});
