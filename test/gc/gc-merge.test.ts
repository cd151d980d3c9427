/**
 * gc during a conflicted `git merge`: the base / ours / theirs versions (index stages 1–3) and the
 * conflict record are roots, so after gc the conflicts still show and the merge resolves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeRepo, type TestRepo } from '../cli/helpers.js';
import { gc, verifyDeep } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('gc during a conflicted merge', () => {
  let r: TestRepo;

  beforeAll(() => {
    r = makeRepo({ init: true });
    r.ok(['put', 'users', 'k', 'base']);
    r.ok(['put', 'users', 'other', 'x']);
    r.ok(['commit', '-m', 'base']);
    r.gitOk(['switch', '-q', '-c', 'theirs']);
    r.ok(['put', 'users', 'k', 'theirs-value']);
    r.ok(['commit', '-m', 'theirs']);
    r.gitOk(['switch', '-q', 'main']);
    r.ok(['put', 'users', 'k', 'ours-value']);
    r.ok(['commit', '-m', 'ours']);
    // Garbage: a version written and then thrown away.
    r.ok(['put', 'users', 'scratch', 'y'.repeat(2000)]);
    r.ok(['restore', 'users']);
    expect(r.git(['merge', '-q', 'theirs', '-m', 'merge']).code).toBe(1);
  });
  afterAll(() => r?.cleanup());

  it('keeps index stages 1–3 and the conflict record; the merge resolves afterwards', async () => {
    const stages = r.gitOk(['ls-files', '-u', '.prolly/datasets/users']).trim().split('\n');
    expect(stages).toHaveLength(3);
    const conflictsBefore = r.ok(['conflicts', 'users', '--json']);
    const report = gc(r, ['--keep-recent', '0']);
    expect(report.store.reclaimedChunks).toBeGreaterThan(0);
    expect(report.roots.indexEntries).toBe(3);
    expect(report.roots.conflictRecords).toBe(1);
    expect(r.ok(['conflicts', 'users', '--json'])).toBe(conflictsBefore);
    // Every version behind a stage is complete.
    for (const rev of ['HEAD', 'theirs', 'MERGE_HEAD', 'HEAD~1']) expect(await verifyDeep(r.dir, rev), rev).toEqual([]);
    r.ok(['resolve', 'users', 'k', '--theirs']);
    r.ok(['commit', '-m', 'merged']);
    expect(r.ok(['get', 'users', 'k'])).toBe('theirs-value');
    expect(r.ok(['get', 'users', 'other'])).toBe('x');
    expect(await verifyDeep(r.dir, 'HEAD')).toEqual([]);
  });
});
