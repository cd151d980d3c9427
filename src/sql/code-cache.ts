/**
 * A V8 code cache for large CommonJS dependencies (alasql: an 800 KB bundle whose compilation is a
 * third of its load time). Node 20 has no module.enableCompileCache, so the bundle is compiled with
 * vm.Script and V8's cached data, kept in a per-user cache directory. Only the CLI turns it on
 * (`enableCodeCache`); library use never writes files. The cache is trusted only when the directory
 * and file belong to this user and nobody else may write them; V8 itself rejects data made for another
 * source, V8 version or flag set, and then the module is compiled normally and the cache rewritten.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

let cacheDir: string | undefined;

/**
 * Use a code cache in `dir` for loads from now on (undefined: off again).
 * @example enableCodeCache(defaultCodeCacheDir())
 */
export function enableCodeCache(dir: string | undefined): void {
  cacheDir = dir;
}

/**
 * The CLI's cache directory: $GIT_PROLLY_CODE_CACHE (`0` or `off` disables it), else
 * $XDG_CACHE_HOME/git-prolly, else ~/.cache/git-prolly; undefined when there is none.
 * @example defaultCodeCacheDir() // '/home/ada/.cache/git-prolly'
 */
export function defaultCodeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.GIT_PROLLY_CODE_CACHE;
  if (own !== undefined && own !== '') return own === '0' || own.toLowerCase() === 'off' ? undefined : own;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'git-prolly');
  let home: string;
  try {
    home = env.HOME || homedir();
  } catch {
    return undefined;
  }
  return home ? join(home, '.cache', 'git-prolly') : undefined;
}

/** How a module was loaded: plain require (no cache), from the cache, or compiled (and the cache written). */
export type CodeCacheOutcome = 'off' | 'hit' | 'miss' | 'rejected' | 'untrusted';

/**
 * Load a CommonJS module as `require(specifier)` from `from` would, through the code cache when it is
 * enabled. The module is evaluated in this context with its own require; it is not entered in
 * require.cache, so load each such module through this function only.
 * @example const { exports } = loadCommonJs('alasql', import.meta.url)
 */
export function loadCommonJs(specifier: string, from: string): { exports: unknown; cache: CodeCacheOutcome } {
  const require = createRequire(from);
  const dir = cacheDir;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (dir === undefined || uid === undefined) return { exports: require(specifier), cache: 'off' };
  let file: string;
  let source: string;
  let name: string;
  try {
    file = require.resolve(specifier);
    const st = statSync(file);
    source = readFileSync(file, 'utf8');
    // The key names the source (size and mtime), Node and the platform; V8 checks the rest.
    const base = specifier.replace(/[^A-Za-z0-9]+/g, '_');
    name = `${base}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}.v8cache`;
  } catch {
    return { exports: require(specifier), cache: 'off' };
  }
  const path = join(dir, name);
  let cached: Buffer | undefined;
  let outcome: CodeCacheOutcome = 'miss';
  try {
    if (trusted(dir, uid, 'dir') && trusted(path, uid, 'file')) cached = readFileSync(path);
  } catch {
    cached = undefined;
  }
  if (cached === undefined && exists(path)) outcome = 'untrusted';
  const script = new Script(Module.wrap(source), { filename: file, ...(cached ? { cachedData: cached } : {}) });
  if (cached) outcome = script.cachedDataRejected ? 'rejected' : 'hit';
  const module = { exports: {} as unknown, id: file, filename: file, loaded: false };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  if (outcome === 'miss' || outcome === 'rejected') save(dir, name, script.createCachedData());
  return { exports: module.exports, cache: outcome };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Ours, of the right kind, and writable by nobody else: the only cache data handed to V8. */
function trusted(path: string, uid: number, kind: 'dir' | 'file'): boolean {
  const st = lstatSync(path);
  const rightKind = kind === 'dir' ? st.isDirectory() : st.isFile();
  return rightKind && st.uid === uid && (st.mode & 0o022) === 0;
}

/** Write the cache (temp file + rename) and drop older caches of the same module; failures are ignored. */
function save(dir: string, name: string, data: Buffer): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
    const prefix = name.slice(0, name.indexOf('-') + 1);
    for (const other of readdirSync(dir)) {
      if (other !== name && other.startsWith(prefix) && other.endsWith('.v8cache')) unlinkSync(join(dir, other));
    }
  } catch {
    /* a cache: losing it only costs compile time */
  }
}
