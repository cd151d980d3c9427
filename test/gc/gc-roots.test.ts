/**
 * Less common roots gc must keep: a linked work tree's uncommitted pointer and its index, a commit
 * named only by FETCH_HEAD, and a pointer file that no longer parses (its root line still counts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeRepo, repoAt, type TestRepo } from '../cli/helpers.js';
import { gc, inStore, workRoot } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('gc roots beyond the main work tree and refs', () => {
  let r: TestRepo;
  let wt: TestRepo;
  let fetched = '';
  const roots: Record<string, string> = {};

  beforeAll(() => {
    r = makeRepo({ init: true });
    r.ok(['put', 'users', 'a', '1']);
    r.ok(['commit', '-m', 'base']);
    // A linked work tree with a staged version and a different, uncommitted work-tree version.
    const wtDir = join(r.dir, '..', 'linked');
    r.gitOk(['worktree', 'add', '-q', wtDir, '-b', 'side']);
    wt = repoAt(wtDir, r.env);
    wt.ok(['put', 'users', 'staged-in-linked', 'v'.repeat(3000)]);
    wt.gitOk(['add', '.prolly/datasets/users']);
    roots.linkedIndex = workRoot(wt, 'users');
    wt.ok(['put', 'users', 'only-in-linked', 'w'.repeat(3000)]);
    roots.linkedWork = workRoot(wt, 'users');
    // A commit only FETCH_HEAD names (as after `git fetch <url> <branch>` with no refspec).
    r.ok(['put', 'users', 'fetched', 'f'.repeat(3000)]);
    r.ok(['commit', '-m', 'fetched']);
    fetched = r.gitOk(['rev-parse', 'HEAD']).trim();
    roots.fetched = workRoot(r, 'users');
    r.gitOk(['reset', '-q', '--hard', 'HEAD~1']);
    r.gitOk(['reflog', 'expire', '--expire=now', '--all']);
    writeFileSync(join(r.dir, '.git', 'FETCH_HEAD'), `${fetched}\t\tbranch 'main' of /elsewhere\n`);
    // A pointer file a bad hand-merge left unparsable.
    r.ok(['put', 'notes', 'k', 'n'.repeat(3000)]);
    roots.broken = workRoot(r, 'notes');
    const p = join(r.dir, '.prolly', 'datasets', 'notes');
    writeFileSync(p, `<<<<<<< ours\n${readFileSync(p, 'utf8')}=======\n>>>>>>> theirs\n`);
    // Garbage, so the sweep has work.
    r.ok(['put', 'users', 'scratch', 's'.repeat(3000)]);
    roots.garbage = workRoot(r, 'users');
    r.ok(['restore', 'users']);
  });
  afterAll(() => r?.cleanup());

  it('keeps them all, and says which pointer it could not parse', async () => {
    const report = gc(r, ['--keep-recent', '0']);
    expect(report.store.reclaimedChunks).toBeGreaterThan(0);
    expect(report.roots).toMatchObject({ worktrees: 2 });
    expect(report.notes.join('\n')).toMatch(/notes is not a valid pointer file; kept the 1 root\(s\)/);
    expect(await inStore(r, [roots.linkedIndex!, roots.linkedWork!, roots.fetched!, roots.broken!, roots.garbage!])).toEqual([true, true, true, true, false]);
    expect(wt.ok(['get', 'users', 'only-in-linked'])).toBe('w'.repeat(3000));
    expect(r.ok(['get', 'users', 'fetched', '--at', fetched])).toBe('f'.repeat(3000));
    wt.gitOk(['commit', '-q', '-m', 'staged in linked']);
    expect(wt.ok(['get', 'users', 'staged-in-linked', '--at', 'HEAD'])).toBe('v'.repeat(3000));
  });
});
