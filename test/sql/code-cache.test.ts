/**
 * The V8 code cache for CommonJS bundles (src/sql/code-cache.ts): off unless enabled; a first load
 * compiles and writes the cache, the next one uses it; data V8 rejects or a file others could have
 * written is never trusted, and the module still loads correctly every time.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { defaultCodeCacheDir, enableCodeCache, loadCommonJs } from '../../src/sql/code-cache.js';
import { ensureBuilt, ROOT } from '../cli/helpers.js';

beforeAll(ensureBuilt, 300_000);

/**
 * Load in a fresh process (V8 also caches compilations in memory, so only a new process shows what
 * the file on disk does): the outcome and the module's exports as JSON.
 */
function loadInChild(specifier: string, from: string, cache: string): { cache: string; exports: Record<string, unknown> } {
  const lib = pathToFileURL(join(ROOT, 'dist', 'src', 'sql', 'code-cache.js')).href;
  const code = `import { enableCodeCache, loadCommonJs } from ${JSON.stringify(lib)};
enableCodeCache(${JSON.stringify(cache)});
const r = loadCommonJs(${JSON.stringify(specifier)}, ${JSON.stringify(from)});
const e = typeof r.exports === 'function' ? { result: r.exports('SELECT 1 + 2 AS x') } : { ...r.exports, square7: r.exports.square?.(7) };
console.log(JSON.stringify({ cache: r.cache, exports: e }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { cache: string; exports: Record<string, unknown> };
}

const root = mkdtempSync(join(tmpdir(), 'prolly-code-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => enableCodeCache(undefined));

/** A small CommonJS package `fixture` under a fresh directory, and a file URL to load it from. */
function fixture(name: string): { from: string; cache: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'node_modules', 'fixture'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'fixture', 'package.json'), JSON.stringify({ name: 'fixture', version: '1.0.0', main: 'index.js' }));
  writeFileSync(
    join(dir, 'node_modules', 'fixture', 'index.js'),
    `const path = require('path');\nfunction square(x) { return x * x; }\nmodule.exports = { square, base: path.basename(__filename), dir: path.basename(__dirname), self: typeof module.exports };\n`,
  );
  return { from: pathToFileURL(join(dir, 'main.mjs')).href, cache: join(dir, 'cache') };
}

const cacheFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8cache')) : []);

describe('code cache', () => {
  test('off unless enabled: a plain require', () => {
    const f = fixture('off');
    const r = loadCommonJs('fixture', f.from);
    expect(r.cache).toBe('off');
    expect((r.exports as { square(x: number): number }).square(7)).toBe(49);
    expect(cacheFiles(f.cache)).toEqual([]);
  });

  test('a miss writes the cache, the next process uses it, and the module works both times', () => {
    const f = fixture('hit');
    const first = loadInChild('fixture', f.from, f.cache);
    expect(first.cache).toBe('miss');
    expect(cacheFiles(f.cache)).toHaveLength(1);
    const second = loadInChild('fixture', f.from, f.cache);
    expect(second.cache).toBe('hit');
    for (const r of [first, second]) expect(r.exports).toMatchObject({ base: 'index.js', dir: 'fixture', self: 'object', square7: 49 });
  });

  test('in process too: enabled loads write the cache and give the module', () => {
    const f = fixture('inproc');
    enableCodeCache(f.cache);
    const r = loadCommonJs('fixture', f.from);
    expect(['miss', 'hit']).toContain(r.cache);
    expect((r.exports as { square(x: number): number }).square(12)).toBe(144);
    expect(cacheFiles(f.cache)).toHaveLength(1);
  });

  test('data V8 rejects is replaced; a cache others may write is not used', () => {
    const f = fixture('bad');
    loadInChild('fixture', f.from, f.cache);
    const [name] = cacheFiles(f.cache);
    writeFileSync(join(f.cache, name!), Buffer.from('not a code cache'));
    const rejected = loadInChild('fixture', f.from, f.cache);
    expect(rejected.cache).toBe('rejected');
    expect(rejected.exports.square7).toBe(49);
    expect(loadInChild('fixture', f.from, f.cache).cache).toBe('hit');
    if (process.getuid?.() !== undefined) {
      chmodSync(join(f.cache, name!), 0o666);
      const untrusted = loadInChild('fixture', f.from, f.cache);
      expect(untrusted.cache).toBe('untrusted');
      expect(untrusted.exports.square7).toBe(49);
    }
  });

  test('a changed module gets a new cache and the old one is removed', () => {
    const f = fixture('change');
    loadInChild('fixture', f.from, f.cache);
    const before = cacheFiles(f.cache);
    writeFileSync(join(root, 'change', 'node_modules', 'fixture', 'index.js'), 'module.exports = { changed: true, longer: "so the size differs" };\n');
    const r = loadInChild('fixture', f.from, f.cache);
    expect(r).toEqual({ cache: 'miss', exports: { changed: true, longer: 'so the size differs' } });
    const after = cacheFiles(f.cache);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
  });

  test('alasql loads through the cache', () => {
    const dir = join(root, 'alasql');
    const from = pathToFileURL(join(ROOT, 'src', 'sql', 'alasql-runtime.ts')).href;
    const first = loadInChild('alasql', from, dir);
    const second = loadInChild('alasql', from, dir);
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.exports.result).toEqual([{ x: 3 }]);
  });

  test('the default directory: GIT_PROLLY_CODE_CACHE, XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCodeCacheDir({ GIT_PROLLY_CODE_CACHE: '/c', HOME: '/h' })).toBe('/c');
    expect(defaultCodeCacheDir({ GIT_PROLLY_CODE_CACHE: 'off', HOME: '/h' })).toBeUndefined();
    expect(defaultCodeCacheDir({ GIT_PROLLY_CODE_CACHE: '0', HOME: '/h' })).toBeUndefined();
    expect(defaultCodeCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(join('/x', 'git-prolly'));
    expect(defaultCodeCacheDir({ HOME: '/h' })).toBe(join('/h', '.cache', 'git-prolly'));
  });
});
