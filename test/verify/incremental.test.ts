/**
 * `verifyHistory` in process: each commit checks exactly the nodes no earlier commit had (ground truth
 * from walking every tree), so cost follows the change; `from` makes the tree there a trusted
 * baseline; a corrupt node is reported once, by the first commit that has it; blobs are checked with
 * `deep`; the JUnit report is well-formed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initRepo } from '../../src/repo/init.js';
import { openRepo, type Repo } from '../../src/repo/repo.js';
import { walkTree } from '../../src/tree/walk.js';
import { verifyHistory, verifyReportJunit } from '../../src/verify/index.js';

const env = { GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.org', GIT_CONFIG_NOSYSTEM: '1' };
const key = (i: number) => `row-${String(i).padStart(6, '0')}`;
const value = (i: number, v: number) => JSON.stringify({ i, v, pad: 'p'.repeat(30 + (i % 23)) });

/** Deterministic bytes that do not repeat (so content-defined chunking finds many distinct chunks). */
function pseudoRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

let root: string;
let dir: string;
let commits: string[];
const ROWS = 20_000;

/** Every node address of every dataset tree at `commit`. */
async function treeNodes(repo: Repo, commit: string): Promise<Set<string>> {
  const out = new Set<string>();
  const { nodes } = await repo.reader();
  for (const { pointer } of await repo.datasets({ at: commit })) for await (const n of walkTree(nodes, pointer.root)) out.add(n.addressHex);
  return out;
}

beforeAll(async () => {
  Object.assign(process.env, env);
  root = mkdtempSync(join(tmpdir(), 'prolly-verify-inc-'));
  dir = join(root, 'repo');
  mkdirSync(dir);
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, env: { ...process.env, HOME: root, GIT_CONFIG_GLOBAL: join(root, 'gitconfig') } });
  git('init', '-q', '-b', 'main');
  git('commit', '-q', '--allow-empty', '-m', 'initial');
  await initRepo({ dir });
  // Raw storage, so a test can find a node's bytes in the pack files.
  const cfg = join(dir, '.prolly', 'config.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^type = "zstd"$/m, 'type = "none"'));
  const repo = await openRepo({ dir });
  try {
    const ds = repo.dataset('rows');
    await ds.putMany((function* () {
      for (let i = 0; i < ROWS; i++) yield [key(i), value(i, 0)] as [string, string];
    })());
    commits = [(await repo.commit({ message: 'import' })).oid!];
    for (let c = 1; c <= 8; c++) {
      const edits: [string, string][] = [];
      for (let j = 0; j < 25; j++) edits.push([key((c * 997 + j * 7919) % ROWS), value(j, c)]);
      await ds.putMany(edits);
      if (c === 4) await repo.dataset('other').put('k', 'v'); // a second dataset appears
      if (c === 6) await ds.put('big', pseudoRandom(200_000)); // a blob of several chunks
      commits.push((await repo.commit({ message: `change ${c}` })).oid!);
    }
  } finally {
    await repo.close();
  }
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('incremental verification', () => {
  test('each commit checks exactly the nodes no earlier commit had', async () => {
    const repo = await openRepo({ dir });
    try {
      const report = await verifyHistory(repo, { audit: false });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      const seen = new Set<string>();
      const expected: number[] = [];
      for (const c of commits) {
        const nodes = await treeNodes(repo, c);
        expected.push([...nodes].filter((n) => !seen.has(n)).length);
        for (const n of nodes) seen.add(n);
      }
      const byCommit = new Map(report.commits.map((c) => [c.commit, c.chunks]));
      expect(commits.map((c) => byCommit.get(c))).toEqual(expected);
      expect(report.totals.nodes).toBe(seen.size);
      // The import is most of the work; a 25-row change touches a few dozen nodes at most.
      expect(expected[0]!).toBeGreaterThan(100);
      for (const n of expected.slice(1)) expect(n).toBeLessThan(80);
    } finally {
      await repo.close();
    }
  });

  test('from: the tree there is the trusted baseline; later commits cost their changes', async () => {
    const repo = await openRepo({ dir });
    try {
      const full = await verifyHistory(repo, { audit: false });
      const report = await verifyHistory(repo, { from: commits[0], audit: false });
      expect(report.ok).toBe(true);
      expect(report.commits.map((c) => c.commit)).toEqual(commits.slice(1));
      // Never less than the full run checks for a commit (nothing new is skipped); a little more where a
      // commit brings back nodes the baseline had but its parent did not (re-chunking after an edit), which
      // the full run had checked already and this run cannot know without reading the baseline.
      const fullByCommit = new Map(full.commits.map((c) => [c.commit, c.chunks]));
      for (const c of report.commits) {
        expect(c.chunks).toBeGreaterThanOrEqual(fullByCommit.get(c.commit)!);
        expect(c.chunks).toBeLessThanOrEqual(fullByCommit.get(c.commit)! + 10);
      }
      // The baseline tree itself is not read again.
      expect(report.totals.nodes).toBeLessThanOrEqual(full.totals.nodes - fullByCommit.get(commits[0]!)! + 10);
    } finally {
      await repo.close();
    }
  });

  test('deep: the blob chunks of the commit that added the blob', async () => {
    const repo = await openRepo({ dir });
    try {
      const report = await verifyHistory(repo, { deep: true, audit: false });
      expect(report.ok).toBe(true);
      expect(report.totals.blobChunks).toBeGreaterThan(3);
      const shallow = await verifyHistory(repo, { audit: false });
      expect(shallow.totals.blobChunks).toBe(0);
      const added = report.commits.find((c) => c.subject === 'change 6')!;
      const before = shallow.commits.find((c) => c.subject === 'change 6')!;
      expect(added.chunks - before.chunks).toBe(report.totals.blobChunks);
    } finally {
      await repo.close();
    }
  });

  test('a corrupt node is reported once, by the first commit that has it; the JUnit report says so', async () => {
    const repo = await openRepo({ dir });
    let target: { hex: string; bytes: Uint8Array };
    try {
      const { nodes } = await repo.reader();
      const pointer = (await repo.datasets({ at: commits[3] })).find((d) => d.name === 'rows')!.pointer;
      const rootNode = await nodes.get(pointer.root);
      target = { hex: rootNode.addressHex, bytes: Uint8Array.from(rootNode.bytes) };
    } finally {
      await repo.close();
    }
    const store = join(dir, '.git', 'prolly', 'store');
    const pack = readdirSync(store).find((n) => n.endsWith('.pack') && readFileSync(join(store, n)).includes(Buffer.from(target.bytes)))!;
    const bytes = readFileSync(join(store, pack));
    const at = bytes.indexOf(Buffer.from(target.bytes));
    const saved = Buffer.from(bytes);
    bytes[at + 10]! ^= 0xff;
    writeFileSync(join(store, pack), bytes);
    try {
      const again = await openRepo({ dir });
      try {
        const report = await verifyHistory(again, { audit: false });
        expect(report.ok).toBe(false);
        expect(report.problems).toEqual([expect.objectContaining({ check: 'corrupt', commit: commits[3], dataset: 'rows', chunk: target.hex })]);
        const xml = verifyReportJunit(report);
        expect(xml.match(/<testcase /g)!.length).toBe(report.commits.length + 1);
        expect(xml.match(/<failure /g)!.length).toBe(1);
        expect(xml).toContain(`chunk ${target.hex}`);
      } finally {
        await again.close();
      }
    } finally {
      writeFileSync(join(store, pack), saved);
    }
  });
});
