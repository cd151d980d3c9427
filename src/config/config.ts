/**
 * `.prolly/config.toml`: parsing, validation and defaults (ARCHITECTURE.md decision 12).
 *
 * The file is committed with the repository, so it never holds secrets: credentials come from the
 * environment / the AWS credential chain. Validation is strict — an unknown key is an error, because a
 * typo in a storage setting must not silently fall back to a default — and every error names the key
 * and its line and column in the file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCodes, ProllyError } from '../errors.js';

// smol-toml's single-file CommonJS build: its ESM build is eight modules, which cost every command
// about twice the start-up time.
const { parse, TomlError } = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');

/** One storage tier. Which keys apply depends on `type`. */
export interface BackendConfig {
  /** Unique name, referred to by routing and by `git prolly push --to <name>`. */
  name: string;
  type: 'local' | 's3' | 'ipfs';
  /** local: directory (relative to the work tree root, or absolute). */
  path?: string;
  /** s3: bucket name. */
  bucket?: string;
  /** s3: region (default from the AWS environment). */
  region?: string;
  /** s3: endpoint URL for S3-compatible stores; ipfs: the Kubo RPC API URL. */
  endpoint?: string;
  /** s3 / ipfs: object name prefix. */
  prefix?: string;
  /** s3: storage class for new objects (e.g. STANDARD_IA, GLACIER_IR). */
  storage_class?: string;
  /** age-based routing: chunks older than this many days belong on this tier. */
  max_age_days?: number;
}

export type RoutingStrategy = 'single' | 'age-based' | 'replicate' | 'erasure';

/** How chunks are placed across the backends. */
export interface RoutingConfig {
  strategy: RoutingStrategy;
  /** replicate: copies written. */
  replication_factor: number;
  /** replicate: copies that must acknowledge a write; 0 (the default) means every copy. */
  quorum: number;
  /** erasure: data shards (k). */
  data_shards: number;
  /** erasure: parity shards (m). */
  parity_shards: number;
  /** erasure / replicate: at most this many shards or copies on one cloud provider. */
  max_cloud_providers: number;
}

/** Write-once settings for object stores that support them (S3 Object Lock). */
export interface TamperProofConfig {
  object_lock: boolean;
  retention_days: number;
}

export interface StorageConfig {
  backends: BackendConfig[];
  routing: RoutingConfig;
  tamper_proof: TamperProofConfig;
}

export interface CacheConfig {
  /** In-memory chunk cache budget in MiB. */
  size_mb: number;
  /** How long cached remote-read results (e.g. "absent") stay valid; 0 = until the process ends. */
  ttl_seconds: number;
}

export interface CompressionConfig {
  type: 'zstd' | 'none';
  /** zstd level (1–22). */
  level: number;
  /**
   * Also compress chunks in the local store. Off by default: per-chunk zstd calls cost more time than
   * local disk saves (docs/PERFORMANCE.md); packs sent to remote tiers are compressed either way.
   */
  local: boolean;
}

export interface SecurityConfig {
  /** Sign every `git prolly commit` with `signing_key` (SSH Ed25519). */
  sign_commits: boolean;
  /** Path of the SSH private key used for signing (`~` expands to the home directory). */
  signing_key?: string;
  /** Path of an allowed-signers file for `git prolly verify`. */
  allowed_signers?: string;
  /** Encrypt chunks before they leave the machine. */
  client_encryption: boolean;
  /** Where the encryption key comes from (e.g. "env": GIT_PROLLY_ENCRYPTION_KEY). */
  key_provider: string;
}

export interface DiffConfig {
  /** `git log -p` lists every entry of datasets up to this size; larger ones show a summary line. */
  textconv_max_entries: number;
}

/**
 * The parsed, validated, defaulted configuration.
 * @example const { cache, compression } = loadConfig('/repo/.prolly/config.toml');
 */
export interface ProllyConfig {
  storage: StorageConfig;
  cache: CacheConfig;
  compression: CompressionConfig;
  security: SecurityConfig;
  diff: DiffConfig;
}

/**
 * The configuration used when the file is absent, and whose keys `git prolly init` writes.
 * @example defaultConfig().compression.level // 3
 */
export function defaultConfig(): ProllyConfig {
  return {
    storage: {
      backends: [{ name: 'local', type: 'local', path: '.git/prolly/store' }],
      routing: { strategy: 'single', replication_factor: 1, quorum: 0, data_shards: 4, parity_shards: 2, max_cloud_providers: 1 },
      tamper_proof: { object_lock: false, retention_days: 0 },
    },
    cache: { size_mb: 256, ttl_seconds: 0 },
    compression: { type: 'zstd', level: 3, local: false },
    security: { sign_commits: false, client_encryption: false, key_provider: 'env' },
    diff: { textconv_max_entries: 10_000 },
  };
}

/**
 * What `git prolly init` writes to `.prolly/config.toml`: the defaults, spelled out. The repository's
 * `.prolly.example.toml` documents every key; a test checks both parse to the same configuration.
 */
export const DEFAULT_CONFIG_TOML = `# git-prolly configuration. Committed with the repository: no secrets here.
# Every key is documented in .prolly.example.toml (https://github.com/…/git-prolly).

[[storage.backends]]
name = "local"
type = "local"
path = ".git/prolly/store"

[storage.routing]
strategy = "single"

[storage.tamper_proof]
object_lock = false
retention_days = 0

[cache]
size_mb = 256
ttl_seconds = 0

[compression]
type = "zstd"
level = 3
local = false

[security]
sign_commits = false
client_encryption = false
key_provider = "env"

[diff]
textconv_max_entries = 10000
`;

// ----------------------------------------------------------------------------------------- schema

type Field =
  | { kind: 'string'; pattern?: RegExp; hint?: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'number'; min: number }
  | { kind: 'bool' };

const BACKEND_FIELDS: Record<keyof BackendConfig, Field> = {
  name: { kind: 'string', pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, hint: 'letters, digits, "_" and "-"' },
  type: { kind: 'enum', values: ['local', 's3', 'ipfs'] },
  path: { kind: 'string' },
  bucket: { kind: 'string', pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, hint: 'a valid S3 bucket name' },
  region: { kind: 'string' },
  endpoint: { kind: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http(s) URL' },
  prefix: { kind: 'string' },
  storage_class: { kind: 'string' },
  max_age_days: { kind: 'number', min: 0 },
};

const TABLES: Record<string, Record<string, Field>> = {
  'storage.routing': {
    strategy: { kind: 'enum', values: ['single', 'age-based', 'replicate', 'erasure'] },
    replication_factor: { kind: 'int', min: 1, max: 16 },
    quorum: { kind: 'int', min: 0, max: 16 },
    data_shards: { kind: 'int', min: 1, max: 128 },
    parity_shards: { kind: 'int', min: 0, max: 128 },
    max_cloud_providers: { kind: 'int', min: 1, max: 64 },
  },
  'storage.tamper_proof': {
    object_lock: { kind: 'bool' },
    retention_days: { kind: 'int', min: 0 },
  },
  cache: { size_mb: { kind: 'number', min: 0 }, ttl_seconds: { kind: 'number', min: 0 } },
  compression: { type: { kind: 'enum', values: ['zstd', 'none'] }, level: { kind: 'int', min: 1, max: 22 }, local: { kind: 'bool' } },
  security: {
    sign_commits: { kind: 'bool' },
    signing_key: { kind: 'string' },
    allowed_signers: { kind: 'string' },
    client_encryption: { kind: 'bool' },
    key_provider: { kind: 'string', pattern: /^(env(:[A-Za-z_][A-Za-z0-9_]*)?|file:.+)$/, hint: '"env", "env:NAME" (key in environment variable NAME) or "file:PATH"' },
  },
  diff: { textconv_max_entries: { kind: 'int', min: 0 } },
};

// --------------------------------------------------------------------------------------- parsing

/** Where a dotted key path (e.g. `storage.backends[1].bucket`) sits in the file. */
interface Position {
  line: number;
  column: number;
}

/**
 * Parse and validate config text. Missing keys take their defaults; unknown keys, wrong types and
 * out-of-range values are EBADCONFIG errors naming the file, line, column and key.
 *
 * @example
 * const config = parseConfig('[cache]\nsize_mb = 64\n', { file: '.prolly/config.toml' });
 * config.cache.size_mb // 64
 */
export function parseConfig(text: string, options: { file?: string } = {}): ProllyConfig {
  const file = options.file ?? 'config.toml';
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ProllyError(ErrorCodes.BAD_CONFIG, `${file}:${err.line}:${err.column}: invalid TOML: ${first}`, { file, line: err.line, column: err.column });
    }
    throw err;
  }
  const positions = locateKeys(text);
  const fail = (path: string, message: string): never => {
    const pos = positions.get(path) ?? positions.get(path.replace(/\.[^.[\]]+$/, '')) ?? { line: 1, column: 1 };
    throw new ProllyError(ErrorCodes.BAD_CONFIG, `${file}:${pos.line}:${pos.column}: ${path}: ${message}`, { file, key: path, line: pos.line, column: pos.column });
  };

  const config = defaultConfig();
  const topLevel = new Set(['storage', 'cache', 'compression', 'security', 'diff']);
  for (const key of Object.keys(doc)) {
    if (!topLevel.has(key)) fail(key, `unknown section (expected one of ${[...topLevel].join(', ')})`);
  }
  const storage = doc.storage;
  if (storage !== undefined) {
    if (!isTable(storage)) fail('storage', 'must be a table');
    const s = storage as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (key !== 'backends' && key !== 'routing' && key !== 'tamper_proof') fail(`storage.${key}`, 'unknown key (expected backends, routing or tamper_proof)');
    }
    if (s.backends !== undefined) {
      if (!Array.isArray(s.backends)) fail('storage.backends', 'must be an array of tables ([[storage.backends]])');
      config.storage.backends = (s.backends as unknown[]).map((b, i) => readBackend(b, `storage.backends[${i}]`, fail));
      const seen = new Set<string>();
      config.storage.backends.forEach((b, i) => {
        if (seen.has(b.name)) fail(`storage.backends[${i}].name`, `duplicate backend name "${b.name}"`);
        seen.add(b.name);
      });
    }
  }
  for (const [tablePath, fields] of Object.entries(TABLES)) {
    const value = tablePath.split('.').reduce<unknown>((t, k) => (isTable(t) ? (t as Record<string, unknown>)[k] : undefined), doc);
    if (value === undefined) continue;
    if (!isTable(value)) fail(tablePath, 'must be a table');
    const target = tablePath.split('.').reduce<Record<string, unknown>>((t, k) => t[k] as Record<string, unknown>, config as unknown as Record<string, unknown>);
    readFields(value as Record<string, unknown>, fields, tablePath, target, fail);
  }
  checkRouting(config, fail);
  return config;
}

/**
 * Read and parse `.prolly/config.toml`; the defaults when the file does not exist.
 * @example const config = loadConfig(join(workTree, '.prolly', 'config.toml'));
 */
export function loadConfig(path: string): ProllyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig();
    throw err;
  }
  return parseConfig(text, { file: path });
}

type Fail = (path: string, message: string) => never;

function readBackend(value: unknown, path: string, fail: Fail): BackendConfig {
  if (!isTable(value)) fail(path, 'must be a table');
  const out: Record<string, unknown> = {};
  readFields(value as Record<string, unknown>, BACKEND_FIELDS, path, out, fail);
  if (out.name === undefined) fail(path, 'a backend needs a name');
  if (out.type === undefined) fail(path, 'a backend needs a type (local, s3 or ipfs)');
  const b = out as unknown as BackendConfig;
  const allowed: Record<BackendConfig['type'], readonly string[]> = {
    local: ['name', 'type', 'path', 'max_age_days'],
    s3: ['name', 'type', 'bucket', 'region', 'endpoint', 'prefix', 'storage_class', 'max_age_days'],
    ipfs: ['name', 'type', 'endpoint', 'prefix', 'max_age_days'],
  };
  for (const key of Object.keys(b)) {
    if (!allowed[b.type].includes(key)) fail(`${path}.${key}`, `does not apply to a ${b.type} backend (allowed: ${allowed[b.type].join(', ')})`);
  }
  if (b.type === 'local' && b.path === undefined) fail(path, 'a local backend needs a path');
  if (b.type === 's3' && b.bucket === undefined) fail(path, 'an s3 backend needs a bucket');
  if (b.type === 'ipfs' && b.endpoint === undefined) fail(path, 'an ipfs backend needs an endpoint (the Kubo RPC API URL)');
  return b;
}

function readFields(table: Record<string, unknown>, fields: Record<string, Field>, path: string, target: Record<string, unknown>, fail: Fail): void {
  for (const [key, value] of Object.entries(table)) {
    const spec = fields[key];
    const at = `${path}.${key}`;
    if (!spec) fail(at, `unknown key (expected one of ${Object.keys(fields).join(', ')})`);
    target[key] = checkField(value, spec!, at, fail);
  }
}

function checkField(value: unknown, spec: Field, at: string, fail: Fail): unknown {
  const got = describe(value);
  switch (spec.kind) {
    case 'bool':
      if (typeof value !== 'boolean') fail(at, `must be true or false, got ${got}`);
      return value;
    case 'string':
      if (typeof value !== 'string') fail(at, `must be a string, got ${got}`);
      if (spec.pattern && !spec.pattern.test(value as string)) fail(at, `must be ${spec.hint ?? `a string matching ${spec.pattern}`}, got ${got}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) fail(at, `must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, got ${got}`);
      return value;
    case 'int': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      const range = spec.max === undefined ? `≥ ${spec.min}` : `between ${spec.min} and ${spec.max}`;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < spec.min || (spec.max !== undefined && n > spec.max)) fail(at, `must be an integer ${range}, got ${got}`);
      return n;
    }
    case 'number': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < spec.min) fail(at, `must be a number ≥ ${spec.min}, got ${got}`);
      return n;
    }
  }
}

function checkRouting(config: ProllyConfig, fail: Fail): void {
  const r = config.storage.routing;
  const n = config.storage.backends.length;
  if (r.quorum > r.replication_factor) fail('storage.routing.quorum', `must not exceed replication_factor (${r.replication_factor}), got ${r.quorum}`);
  if (r.strategy === 'replicate' && r.replication_factor > n) {
    fail('storage.routing.replication_factor', `is ${r.replication_factor} but only ${n} backend(s) are configured`);
  }
  if (r.strategy === 'age-based' && !config.storage.backends.some((b) => b.max_age_days !== undefined)) {
    fail('storage.routing.strategy', 'age-based routing needs at least one backend with max_age_days');
  }
}

function isTable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object' && v !== null) return 'a table';
  return String(v);
}

/**
 * Map each dotted key path to where it is written. A light line scanner — not a TOML parser — good
 * enough to point at the line of a key that parsed but failed validation.
 */
function locateKeys(text: string): Map<string, Position> {
  const out = new Map<string, Position>();
  const arrayCounts = new Map<string, number>();
  let table = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const array = /^(\s*)\[\[\s*([^\]]+?)\s*\]\]/.exec(raw);
    const header = array ? undefined : /^(\s*)\[\s*([^\]]+?)\s*\]/.exec(raw);
    if (array) {
      const name = normalizeKey(array[2]!);
      const index = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, index + 1);
      table = `${name}[${index}]`;
      if (!out.has(table)) out.set(table, { line, column: array[1]!.length + 1 });
      return;
    }
    if (header) {
      table = normalizeKey(header[2]!);
      if (!out.has(table)) out.set(table, { line, column: header[1]!.length + 1 });
      return;
    }
    const kv = /^(\s*)([A-Za-z0-9_\-."' ]+?)\s*=/.exec(raw);
    if (kv) {
      const key = (table ? `${table}.` : '') + normalizeKey(kv[2]!);
      if (!out.has(key)) out.set(key, { line, column: kv[1]!.length + 1 });
    }
  });
  return out;
}

function normalizeKey(k: string): string {
  return k
    .split('.')
    .map((p) => p.trim().replace(/^["']|["']$/g, ''))
    .join('.');
}
