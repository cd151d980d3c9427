/**
 * The CI recipe of docs/VERIFY.md, run for real: a fresh clone on a detached HEAD with no chunks of
 * its own, the audit log fetched, `git prolly init`, then `verify --from … --require-signatures
 * --branch main --junit` — chunks come from the storage backend and are hashed by the verifier.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt } from '../cli/helpers.js';
import { repoAt } from '../tiers-integration/helpers.js';
import { signingRepo, type SigningRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('the CI job in a fresh clone', () => {
  let origin: SigningRepo;
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'prolly-ci-'));
    origin = signingRepo();
    origin.ok(['remote', 'add', 'archive', join(scratch, 'archive')]);
    let csv = 'id,total\n';
    for (let i = 0; i < 2000; i++) csv += `o${String(i).padStart(5, '0')},${i * 3}\n`;
    writeFileSync(join(origin.home, 'orders.csv'), csv);
    origin.ok(['import', 'orders', join(origin.home, 'orders.csv'), '--key', 'id']);
    origin.ok(['commit', '-m', 'orders']);
    origin.ok(['put', 'orders', 'o00007', '{"total":0}']);
    origin.ok(['commit', '-m', 'refund order 7']);
    origin.ok(['push', 'archive']);
    const bare = join(scratch, 'origin.git');
    origin.gitOk(['init', '-q', '--bare', '-b', 'main', bare]);
    origin.gitOk(['remote', 'add', 'origin', bare]);
    origin.gitOk(['config', '--add', 'remote.origin.push', 'refs/heads/*:refs/heads/*']);
    origin.gitOk(['config', '--add', 'remote.origin.push', 'refs/prolly/audit:refs/prolly/audit']);
    origin.gitOk(['push', '-q', 'origin']);
  }, 120_000);
  afterAll(() => {
    origin?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('verify passes on a detached HEAD, reading chunks from the backend; a JUnit report is written', () => {
    const dir = join(scratch, 'ci');
    origin.gitOk(['clone', '-q', join(scratch, 'origin.git'), dir], { cwd: scratch });
    const ci = repoAt(dir, origin.env);
    ci.gitOk(['checkout', '-q', '--detach', 'HEAD']);
    ci.gitOk(['fetch', '-q', 'origin', 'refs/prolly/audit:refs/prolly/audit']);
    ci.ok(['init']);
    const junit = join(scratch, 'verify.xml');
    const run = ci.prolly(['verify', '--from', 'HEAD~1', '--require-signatures', '--branch', 'main', '--junit', junit, '--json']);
    const report = JSON.parse(run.stdout) as { ok: boolean; problems: unknown[]; notes: string[]; totals: { commits: number; fetchedFromRemote: number; signaturesGood: number } };
    expect(report.problems).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.totals).toMatchObject({ commits: 1, signaturesGood: 1 });
    expect(report.totals.fetchedFromRemote).toBeGreaterThan(0);
    expect(report.notes.join('\n')).not.toContain('no audit log');
    expect(readFileSync(junit, 'utf8')).toMatch(/tests="2" failures="0"/);
    // The whole history too (the import's tree, read from the backend).
    const full = ci.prolly(['verify', '--branch', 'main']);
    expect(full.stdout).toMatch(/^OK: verified 3 commits/m);
    expect(full.code).toBe(0);
  });
});
