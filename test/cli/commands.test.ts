/**
 * The rest of the command set through the real CLI: values from files and stdin, scan options,
 * import/export round trips on the sample dataset, stats, restore, `git prolly merge` strategies,
 * the textconv size limit, help and version.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleUsersCsv } from '../../src/dataset/sample.js';
import { BIN, ensureBuilt, makeRepo, ROOT, type TestRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

const SAMPLE = join(ROOT, 'fixtures', 'sample', 'users.csv');

describe('git prolly commands', () => {
  let r: TestRepo;
  beforeAll(() => {
    r = makeRepo({ init: true });
  });
  afterAll(() => r.cleanup());

  it('the sample fixture is the deterministic generator output', () => {
    expect(readFileSync(SAMPLE, 'utf8')).toBe(sampleUsersCsv({ rows: 3000 }));
  });

  it('put takes values from an argument, a file (large: a blob) or stdin; get returns the exact bytes', () => {
    const big = randomBytes(200_000);
    const file = join(r.home, 'big.bin');
    writeFileSync(file, big);
    r.ok(['put', 'files', 'big.bin', '--file', file]);
    const got = spawnSync('git', ['prolly', 'get', 'files', 'big.bin'], { cwd: r.dir, env: r.env, maxBuffer: 1 << 24 });
    expect(got.status).toBe(0);
    expect(Buffer.compare(got.stdout, big)).toBe(0);
    r.ok(['put', 'files', 'from-stdin', '--stdin'], { input: 'piped\nvalue' });
    expect(r.ok(['get', 'files', 'from-stdin'])).toBe('piped\nvalue');
    r.ok(['put', 'files', 'ключ/ü', 'значение ✓']);
    expect(r.ok(['get', 'files', 'ключ/ü'])).toBe('значение ✓');
    const json = JSON.parse(r.ok(['get', 'files', 'big.bin', '--json'])) as { value: string | null; valueBase64?: string };
    expect(json.value).toBeNull();
    expect(Buffer.from(json.valueBase64!, 'base64').equals(big)).toBe(true);
    const stats = JSON.parse(r.ok(['stats', 'files', '--json'])) as { blobs: { count: number; bytes: number } };
    expect(stats.blobs).toEqual({ count: 1, bytes: 200_000 });
  });

  it('import + export round-trip the sample CSV exactly; NDJSON export has one line per row', () => {
    const out = JSON.parse(r.ok(['import', 'users', SAMPLE, '--json'])) as { rows: number; count: number };
    expect(out).toMatchObject({ rows: 3000, count: 3000 });
    expect(r.ok(['export', 'users', '--format', 'csv'])).toBe(readFileSync(SAMPLE, 'utf8'));
    const lines = r.ok(['export', 'users']).trim().split('\n');
    expect(lines).toHaveLength(3000);
    expect(JSON.parse(lines[96]!)).toMatchObject({ id: 'u00097', name: expect.stringContaining(', ') });
    // Re-importing the NDJSON export gives the same tree (same root).
    const nd = join(r.home, 'users.ndjson');
    writeFileSync(nd, lines.join('\n') + '\n');
    r.ok(['import', 'copy', nd]);
    const ds = JSON.parse(r.ok(['datasets', '--json'])) as { name: string; root: string; count: number }[];
    expect(ds.find((d) => d.name === 'copy')!.root).toBe(ds.find((d) => d.name === 'users')!.root);
    // Upsert by default, --replace starts over.
    writeFileSync(join(r.home, 'two.csv'), 'id,name\nu00001,Changed\nzz,New\n');
    expect(JSON.parse(r.ok(['import', 'users', join(r.home, 'two.csv'), '--json'])).count).toBe(3001);
    expect(JSON.parse(r.ok(['import', 'users', join(r.home, 'two.csv'), '--replace', '--json'])).count).toBe(2);
    r.ok(['restore', 'users']); // back to nothing committed: removes the dataset
    expect(r.prolly(['get', 'users', 'zz']).code).toBe(2);
    r.ok(['import', 'users', SAMPLE]);
    r.ok(['commit', '-m', 'users']);
  });

  it('scan honours prefix, from/to, limit, reverse and keys-only, in text and JSON', () => {
    const keys = (args: string[]) => r.ok(['scan', 'users', '--keys-only', ...args]).trim().split('\n');
    expect(keys(['--prefix', 'u0001', '--limit', '3'])).toEqual(['u00010', 'u00011', 'u00012']);
    expect(keys(['--from', 'u02998'])).toEqual(['u02998', 'u02999', 'u03000']);
    expect(keys(['--from', 'u00005', '--to', 'u00008'])).toEqual(['u00005', 'u00006', 'u00007']);
    expect(keys(['--reverse', '--limit', '2'])).toEqual(['u03000', 'u02999']);
    const line = r.ok(['scan', 'users', '--limit', '1']).trim();
    expect(line).toBe(`u00001\t${JSON.stringify(Object.fromEntries(readFileSync(SAMPLE, 'utf8').split('\n')[0]!.split(',').map((h, i) => [h, readFileSync(SAMPLE, 'utf8').split('\n')[1]!.split(',')[i]])))}`);
    const json = JSON.parse(r.ok(['scan', 'users', '--prefix', 'u0000', '--json'])) as { key: string; value: string }[];
    expect(json.map((e) => e.key)).toEqual(['u00001', 'u00002', 'u00003', 'u00004', 'u00005', 'u00006', 'u00007', 'u00008', 'u00009']);
    expect(JSON.parse(json[0]!.value).id).toBe('u00001');
  });

  it('stats describes the tree; datasets lists counts', () => {
    const s = JSON.parse(r.ok(['stats', 'users', '--json'])) as { count: number; depth: number; nodes: number; nodesPerLevel: number[]; sizeHistogram: Record<string, number>; nodeBytes: { total: number; max: number } };
    expect(s.count).toBe(3000);
    expect(s.depth).toBe(s.nodesPerLevel.length);
    expect(s.nodesPerLevel.at(-1)).toBe(1);
    expect(s.nodesPerLevel.reduce((a, b) => a + b, 0)).toBe(s.nodes);
    expect(Object.values(s.sizeHistogram).reduce((a, b) => a + b, 0)).toBe(s.nodes);
    expect(s.nodeBytes.max).toBeLessThanOrEqual(16384);
    expect(s.nodeBytes.total).toBeGreaterThan(3000 * 100);
    expect(r.ok(['stats'])).toContain('users (kv)');
  });

  it('restore puts a dataset back as it is at HEAD', () => {
    r.ok(['put', 'users', 'u00001', 'scratch']);
    r.ok(['del', 'users', 'u00002']);
    expect(r.gitOk(['status', '--porcelain'])).toContain('.prolly/datasets/users');
    r.ok(['restore', 'users']);
    expect(r.gitOk(['status', '--porcelain'])).not.toContain('users');
    expect(JSON.parse(r.ok(['get', 'users', 'u00001'])).id).toBe('u00001');
  });

  it('git prolly merge: clean, --strategy theirs / ours, and fail aborts leaving nothing changed', () => {
    const branchChange = (branch: string, key: string, value: string) => {
      r.gitOk(['switch', '-q', '-c', branch]);
      r.ok(['put', 'users', key, value]);
      r.ok(['commit', '-m', `${branch}: ${key}`]);
      r.gitOk(['switch', '-q', 'main']);
    };
    const mainChange = (key: string, value: string) => {
      r.ok(['put', 'users', key, value]);
      r.ok(['commit', '-m', `main: ${key}`]);
    };
    branchChange('t1', 'u00010', 'theirs');
    mainChange('u00010', 'ours');
    r.ok(['merge', 't1', '--strategy', 'theirs']);
    expect(r.ok(['get', 'users', 'u00010'])).toBe('theirs');
    expect(r.gitOk(['log', '-1', '--format=%P']).trim().split(' ')).toHaveLength(2);

    branchChange('t2', 'u00011', 'theirs');
    mainChange('u00011', 'ours');
    r.ok(['merge', 't2', '--strategy', 'ours']);
    expect(r.ok(['get', 'users', 'u00011'])).toBe('ours');

    branchChange('t3', 'u00012', 'theirs');
    mainChange('u00012', 'ours');
    const head = r.gitOk(['rev-parse', 'HEAD']);
    const failed = r.prolly(['merge', 't3', '--strategy', 'fail']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('merge of t3 aborted');
    expect(r.gitOk(['rev-parse', 'HEAD'])).toBe(head);
    expect(r.gitOk(['status', '--porcelain'])).toBe('');
    expect(r.ok(['get', 'users', 'u00012'])).toBe('ours');

    const conflicted = r.prolly(['merge', 't3']);
    expect(conflicted.code).toBe(1);
    expect(conflicted.stderr).toContain('1 conflicting key in users');
    r.ok(['resolve', 'users', 'u00012', '--ours']);
    r.ok(['commit', '-m', 'merge t3']);
    expect(r.gitOk(['status', '--porcelain'])).toBe('');

    branchChange('t4', 'u00013', 'clean');
    const clean = JSON.parse(r.ok(['merge', 't4', '--json'])) as { merged: boolean };
    expect(clean.merged).toBe(true);
    expect(r.ok(['get', 'users', 'u00013'])).toBe('clean');
  });

  it('git log -p lists small datasets and summarises ones over [diff] textconv_max_entries', () => {
    r.ok(['put', 'tiny', 'a', '1']);
    r.ok(['commit', '-m', 'tiny']);
    const log = r.gitOk(['log', '-p', '-1']);
    expect(log).toContain('+a = 1');
    const users = r.gitOk(['log', '-p', '-1', 't4']);
    expect(users).toContain('-u00013 = ');
    expect(users).toContain('+u00013 = clean');
    const config = join(r.dir, '.prolly', 'config.toml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('textconv_max_entries = 10000', 'textconv_max_entries = 100'));
    r.gitOk(['update-ref', '-d', 'refs/notes/textconv/prolly']); // drop cached conversions
    const summary = r.gitOk(['log', '-p', '-1', 't4']);
    expect(summary).toContain('more than 100 entries: not listed');
    expect(summary).not.toContain('+u00013 = clean');
  });

  it('with [security] sign_commits, git prolly commit signs and git verify-commit accepts it', () => {
    const key = join(r.home, 'id_ed25519');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'signer@example.org', '-f', key]).status).toBe(0);
    const config = join(r.dir, '.prolly', 'config.toml');
    const before = readFileSync(config, 'utf8');
    writeFileSync(config, before.replace('sign_commits = false', `sign_commits = true\nsigning_key = ${JSON.stringify(key)}`));
    try {
      r.ok(['put', 'tiny', 'signed', 'yes']);
      r.ok(['commit', '-m', 'signed commit']);
      const allowed = join(r.home, 'allowed_signers');
      writeFileSync(allowed, `signer@example.org ${readFileSync(`${key}.pub`, 'utf8')}`);
      const verify = r.git(['-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', 'HEAD']);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stderr).toContain('Good "git" signature for signer@example.org');
    } finally {
      writeFileSync(config, before);
      r.ok(['commit', '-m', 'signing off again']);
    }
  });

  it('--version is fast-pathed; every command has --help with an example', () => {
    const v = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(v.stdout).toBe(`git-prolly ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
    for (const cmd of ['put', 'get', 'scan', 'import', 'commit', 'merge', 'resolve', 'history']) {
      const h = spawnSync(process.execPath, [BIN, cmd, '--help'], { encoding: 'utf8' });
      expect(h.status, cmd).toBe(0);
      expect(h.stdout, cmd).toMatch(/Example:\n {2}\$ git prolly/);
    }
  });
});
