/** The object database reader/writer against git itself, including packs with deltas. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTree, ObjectDb, parseCommit, parseTree, resolveFullRef, resolveRefName } from '../../src/repo/git-objects.js';
import { testEnv } from '../cli/helpers.js';

let dir: string;
let base: string;
const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: dir, env: testEnv(base), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'prolly-objects-'));
  dir = join(base, 'repo');
  mkdirSync(dir);
  git('init', '-q', '-b', 'main');
  // A file that changes a little in every commit, so gc stores most versions as deltas.
  let text = '';
  for (let i = 0; i < 400; i++) text += `line ${i} ${'x'.repeat(i % 50)}\n`;
  for (let c = 0; c < 25; c++) {
    text = text.replace(`line ${c * 7} `, `line ${c * 7} changed-${c} `);
    writeFileSync(join(dir, 'big.txt'), text);
    writeFileSync(join(dir, `f${c % 5}.txt`), `version ${c}\n`);
    git('add', '-A');
    git('commit', '-q', '-m', `commit ${c}`);
  }
  git('tag', '-a', 'v1', '-m', 'tag');
  git('gc', '-q', '--aggressive');
  git('pack-refs', '--all');
}, 120_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('git object database', () => {
  it('reads every object of a packed, delta-compressed repository exactly as git does', () => {
    const db = new ObjectDb(join(dir, '.git', 'objects'));
    const oids = git('rev-list', '--objects', '--all')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]!);
    expect(oids.length).toBeGreaterThan(50);
    const deltas = git('verify-pack', '-v', ...spawnSync('sh', ['-c', 'ls .git/objects/pack/*.idx'], { cwd: dir, encoding: 'utf8' }).stdout.trim().split('\n'))
      .split('\n')
      .filter((l) => /^[0-9a-f]{40}\s+\w+\s+\d+\s+\d+\s+\d+\s+\d+\s+[0-9a-f]{40}/.test(l)).length;
    expect(deltas).toBeGreaterThan(10);
    for (const oid of oids) {
      const obj = db.read(oid)!;
      expect(obj, oid).toBeDefined();
      // The content hashes back to the id: type and bytes are exactly right.
      expect(ObjectDb.hash(obj.type, obj.data)).toBe(oid);
    }
    db.close();
  });

  it('parses commits and trees, and resolves packed refs', () => {
    const db = new ObjectDb(join(dir, '.git', 'objects'));
    const dirs = { gitDir: join(dir, '.git'), commonDir: join(dir, '.git') };
    const head = resolveFullRef(dirs, 'HEAD')!;
    expect(head).toBe(git('rev-parse', 'HEAD').trim());
    expect(resolveRefName(dirs, 'main')).toBe(head);
    expect(resolveRefName(dirs, 'v1')).toBe(git('rev-parse', 'v1').trim()); // the tag object
    const c = parseCommit(db.read(head)!.data);
    expect(c.tree).toBe(git('rev-parse', 'HEAD^{tree}').trim());
    expect(c.parents).toEqual([git('rev-parse', 'HEAD~1').trim()]);
    expect(c.message).toBe('commit 24\n');
    expect(c.author).toMatchObject({ name: 'Test Author', email: 'author@example.org' });
    const tree = parseTree(db.read(c.tree)!.data);
    expect(tree.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join('\n')).toBe(git('ls-tree', 'HEAD').trim());
    expect(ObjectDb.hash('tree', encodeTree(tree))).toBe(c.tree);
    db.close();
  });

  it('writes loose objects git can read and fsck accepts', () => {
    const db = new ObjectDb(join(dir, '.git', 'objects'));
    const blob = db.write('blob', Buffer.from('hello prolly\n'));
    expect(blob).toBe(spawnSync('git', ['hash-object', '--stdin'], { cwd: dir, input: 'hello prolly\n', encoding: 'utf8' }).stdout.trim());
    expect(git('cat-file', '-p', blob)).toBe('hello prolly\n');
    const tree = db.write('tree', encodeTree([{ mode: '100644', path: 'hello.txt', oid: blob, type: 'blob' }]));
    expect(git('ls-tree', tree).trim()).toBe(`100644 blob ${blob}\thello.txt`);
    expect(db.write('blob', Buffer.from('hello prolly\n'))).toBe(blob); // idempotent
    expect(spawnSync('git', ['fsck', '--strict'], { cwd: dir, env: testEnv(base) }).status).toBe(0);
    db.close();
  });
});
