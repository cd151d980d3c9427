/**
 * The git-native workflow through the real CLI and real git, in throwaway repositories: datasets as
 * pointer files that plain git commands (status, checkout, stash, merge, log -p, diff, fsck) handle.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeRepo, type TestRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

describe('git prolly workflow with plain git', () => {
  let r: TestRepo;
  beforeAll(() => {
    r = makeRepo({ init: true });
  });
  afterAll(() => r.cleanup());

  it('init sets up config, attributes, drivers and the store, and is idempotent', () => {
    expect(existsSync(join(r.dir, '.prolly', 'config.toml'))).toBe(true);
    expect(readFileSync(join(r.dir, '.prolly', '.gitattributes'), 'utf8')).toContain('datasets/** merge=prolly diff=prolly');
    expect(r.gitOk(['config', 'merge.prolly.driver']).trim()).toBe('git-prolly merge-driver %O %A %B %P');
    expect(r.gitOk(['config', 'diff.prolly.textconv']).trim()).toBe('git-prolly textconv');
    expect(r.gitOk(['check-attr', 'merge', 'diff', '--', '.prolly/datasets/anything'])).toContain('merge: prolly');
    expect(existsSync(join(r.dir, '.git', 'prolly', 'store'))).toBe(true);
    const again = JSON.parse(r.ok(['init', '--json'])) as { changed: string[] };
    expect(again.changed).toEqual([]);
  });

  it('put/get round-trips, git status shows the changed dataset, commit leaves other staged work alone', () => {
    r.ok(['put', 'users', 'alice', '{"age":31}']);
    r.ok(['put', 'users', 'bob', '{"age":40}']);
    expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":31}');
    expect(r.gitOk(['status', '--porcelain'])).toContain('.prolly/');

    // The user's unrelated staged work.
    writeFileSync(join(r.dir, 'notes.txt'), 'work in progress\n');
    r.gitOk(['add', 'notes.txt']);
    writeFileSync(join(r.dir, 'unstaged.txt'), 'not staged\n');

    const out = JSON.parse(r.ok(['commit', '-m', 'add users', '--json'])) as { commit: string; datasets: string[] };
    expect(out.datasets).toEqual(['users']);
    expect(r.gitOk(['rev-parse', 'HEAD']).trim()).toBe(out.commit);
    // The commit has .prolly/ only (plus the initial empty tree's nothing): notes.txt is not in it.
    const files = r.gitOk(['ls-tree', '-r', '--name-only', 'HEAD']).trim().split('\n');
    expect(files).toContain('.prolly/datasets/users');
    expect(files).not.toContain('notes.txt');
    // notes.txt is still staged as a new file, unstaged.txt untouched, .prolly/ clean.
    const status = r.gitOk(['status', '--porcelain']);
    expect(status).toContain('A  notes.txt');
    expect(status).toContain('?? unstaged.txt');
    expect(status).not.toContain('.prolly');
    expect(r.gitOk(['diff', '--cached', '--name-only']).trim()).toBe('notes.txt');
    r.gitOk(['commit', '-q', '-m', 'notes']);
    rmSync(join(r.dir, 'unstaged.txt'));
    expect(r.gitOk(['log', '--format=%s']).trim().split('\n')).toEqual(['notes', 'add users', 'initial']);
  });

  it('plain git checkout / switch changes what get returns, instantly', () => {
    r.gitOk(['switch', '-q', '-c', 'feature']);
    r.ok(['put', 'users', 'alice', '{"age":32}']);
    r.ok(['commit', '-m', 'alice is 32']);
    expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":32}');
    r.gitOk(['checkout', '-q', 'main']);
    expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":31}');
    r.gitOk(['switch', '-q', 'feature']);
    expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":32}');
    expect(r.ok(['get', 'users', 'alice', '--at', 'main'])).toBe('{"age":31}');
    expect(r.ok(['get', 'users', 'alice', '--at', 'HEAD~1'])).toBe('{"age":31}');
    r.gitOk(['switch', '-q', 'main']);
  });

  it('git stash / git stash pop hold and restore uncommitted dataset changes', () => {
    r.ok(['put', 'users', 'carol', '{"age":25}']);
    expect(r.ok(['get', 'users', 'carol'])).toBe('{"age":25}');
    r.gitOk(['stash', '-q']);
    expect(r.prolly(['get', 'users', 'carol']).code).toBe(1);
    expect(r.gitOk(['status', '--porcelain'])).toBe('');
    r.gitOk(['stash', 'pop', '-q']);
    expect(r.ok(['get', 'users', 'carol'])).toBe('{"age":25}');
    r.ok(['commit', '-m', 'add carol']);
  });

  it('git diff and git prolly diff show key-level changes of the work tree', () => {
    r.ok(['put', 'users', 'dave', '{"age":50}']);
    r.ok(['del', 'users', 'bob']);
    const gitDiff = r.gitOk(['diff']);
    expect(gitDiff).toContain('+dave = {"age":50}');
    expect(gitDiff).toContain('-bob = {"age":40}');
    const ours = r.ok(['diff']);
    expect(ours).toContain('+dave = {"age":50}');
    expect(ours).toContain('-bob = {"age":40}');
    const stat = JSON.parse(r.ok(['diff', '--stat', '--json'])) as { dataset: string; added: number; removed: number; modified: number }[];
    expect(stat).toEqual([expect.objectContaining({ dataset: 'users', added: 1, removed: 1, modified: 0 })]);
    const status = JSON.parse(r.ok(['status', '--json'])) as { changes: { dataset: string; added: number }[] };
    expect(status.changes[0]).toMatchObject({ dataset: 'users', added: 1, removed: 1 });
    r.ok(['commit', '-m', 'dave in, bob out']);
  });

  it('git merge of disjoint changes merges key by key without a conflict', () => {
    r.gitOk(['switch', '-q', '-c', 'left']);
    r.ok(['put', 'users', 'erin', '{"age":1}']);
    r.ok(['put', 'users', 'alice', '{"age":33}']);
    r.ok(['commit', '-m', 'left']);
    r.gitOk(['switch', '-q', 'main']);
    r.ok(['put', 'users', 'frank', '{"age":2}']);
    r.ok(['del', 'users', 'carol']);
    r.ok(['commit', '-m', 'right']);
    const merge = r.git(['merge', '--no-edit', 'left']);
    expect(merge.code, merge.stderr).toBe(0);
    const keys = r.ok(['scan', 'users', '--keys-only']).trim().split('\n');
    expect(keys).toEqual(['alice', 'dave', 'erin', 'frank']);
    expect(r.ok(['get', 'users', 'alice'])).toBe('{"age":33}');
    expect(r.gitOk(['log', '-1', '--format=%P']).trim().split(' ')).toHaveLength(2);
    expect(r.gitOk(['status', '--porcelain'])).toBe('');
  });

  it('a same-key change conflicts; conflicts lists it; resolve + commit conclude the merge', () => {
    r.gitOk(['switch', '-q', '-c', 'theirs']);
    r.ok(['put', 'users', 'dave', '{"age":51}']);
    r.ok(['put', 'users', 'gina', '{"age":3}']);
    r.ok(['commit', '-m', 'theirs: dave 51, gina']);
    r.gitOk(['switch', '-q', 'main']);
    r.ok(['put', 'users', 'dave', '{"age":52}']);
    r.ok(['commit', '-m', 'ours: dave 52']);

    const merge = r.git(['merge', '--no-edit', 'theirs']);
    expect(merge.code).toBe(1);
    expect(merge.stdout + merge.stderr).toMatch(/CONFLICT/);
    expect(r.gitOk(['status', '--porcelain'])).toContain('UU .prolly/datasets/users');

    const conflicts = JSON.parse(r.ok(['conflicts', '--json'])) as { dataset: string; key: string; base: string; ours: string; theirs: string }[];
    expect(conflicts).toEqual([{ dataset: 'users', key: 'dave', base: '{"age":50}', ours: '{"age":52}', theirs: '{"age":51}' }]);
    expect(r.ok(['conflicts'])).toContain('dave');
    // The non-conflicting change from theirs is already merged; the conflicting key keeps ours for now.
    expect(r.ok(['get', 'users', 'gina'])).toBe('{"age":3}');
    expect(r.ok(['get', 'users', 'dave'])).toBe('{"age":52}');
    // Committing with unresolved conflicts is refused.
    const early = r.prolly(['commit', '-m', 'too early']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/unresolved conflicts in users/);

    r.ok(['resolve', 'users', 'dave', '--value', '{"age":53}']);
    expect(JSON.parse(r.ok(['conflicts', '--json']))).toEqual([]);
    expect(r.gitOk(['status', '--porcelain'])).toContain('M  .prolly/datasets/users');
    r.ok(['commit', '-m', 'merge theirs']);
    expect(r.gitOk(['log', '-1', '--format=%P']).trim().split(' ')).toHaveLength(2);
    expect(existsSync(join(r.dir, '.git', 'MERGE_HEAD'))).toBe(false);
    expect(r.ok(['get', 'users', 'dave'])).toBe('{"age":53}');
    expect(r.ok(['get', 'users', 'gina'])).toBe('{"age":3}');
    expect(r.gitOk(['status', '--porcelain'])).toBe('');
  });

  it('concluding a conflicted merge with plain git add + commit (keeping ours) clears the recorded conflicts', () => {
    r.gitOk(['switch', '-q', '-c', 'plain-theirs']);
    r.ok(['put', 'users', 'gina', '{"age":4}']);
    r.ok(['commit', '-m', 'gina 4']);
    r.gitOk(['switch', '-q', 'main']);
    r.ok(['put', 'users', 'gina', '{"age":5}']);
    r.ok(['commit', '-m', 'gina 5']);
    expect(r.git(['merge', '--no-edit', 'plain-theirs']).code).toBe(1);
    expect(JSON.parse(r.ok(['conflicts', '--json']))).toHaveLength(1);
    r.gitOk(['add', '.prolly/datasets/users']);
    r.gitOk(['commit', '-q', '--no-edit']);
    expect(JSON.parse(r.ok(['conflicts', '--json']))).toEqual([]);
    expect(r.ok(['get', 'users', 'gina'])).toBe('{"age":5}');
    r.ok(['put', 'users', 'gina', '{"age":3}']);
    r.ok(['commit', '-m', 'gina back to 3']);
  });

  it('git log -p and git show show key-level changes (textconv)', () => {
    const log = r.gitOk(['log', '-p', '-1', 'theirs']);
    expect(log).toContain('-dave = {"age":50}');
    expect(log).toContain('+dave = {"age":51}');
    expect(log).toContain('+gina = {"age":3}');
    const show = r.gitOk(['show', 'left']);
    expect(show).toContain('+erin = {"age":1}');
  });

  it('log, history and show find the commits that changed datasets and keys', () => {
    const history = JSON.parse(r.ok(['history', 'users', 'dave', '--json'])) as { subject: string; type: string; to: string | null }[];
    expect(history.map((h) => h.subject)).toEqual(['merge theirs', 'ours: dave 52', 'dave in, bob out']);
    expect(history.map((h) => h.to)).toEqual(['{"age":53}', '{"age":52}', '{"age":50}']);
    const log = JSON.parse(r.ok(['log', 'users', '--json', '--first-parent'])) as { message: string }[];
    expect(log.map((l) => l.message.trim())).toContain('add users');
    const mergeCommit = r.gitOk(['log', '--format=%H', '-1', '--grep', '^merge theirs$']).trim();
    const show = JSON.parse(r.ok(['show', mergeCommit, '--json'])) as { changes: { key: string; type: string }[] };
    expect(show.changes).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'dave', type: 'modified' }), expect.objectContaining({ key: 'gina', type: 'added' })]));
  });

  it('git fsck is clean afterwards', () => {
    const fsck = r.git(['fsck', '--strict', '--no-dangling']);
    expect(fsck.code, fsck.stderr).toBe(0);
    expect(fsck.stdout + fsck.stderr).not.toMatch(/error|missing|broken|corrupt/i);
  });
});
