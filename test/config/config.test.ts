import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_TOML, defaultConfig, parseConfig, type ProllyConfig } from '../../src/config/config.js';
import { ProllyError } from '../../src/errors.js';

const EXAMPLE = readFileSync(join(__dirname, '..', '..', '.prolly.example.toml'), 'utf8');

function error(text: string): ProllyError {
  try {
    parseConfig(text, { file: 'c.toml' });
  } catch (err) {
    if (err instanceof ProllyError) return err;
    throw err;
  }
  throw new Error('expected parseConfig to throw');
}

describe('config', () => {
  it('the defaults written by init, the example file and an empty file all mean the same configuration', () => {
    expect(parseConfig(DEFAULT_CONFIG_TOML)).toEqual(defaultConfig());
    expect(parseConfig(EXAMPLE)).toEqual(defaultConfig());
    expect(parseConfig('')).toEqual(defaultConfig());
  });

  it('the example documents every key the parser accepts', () => {
    const documented = new Set([...EXAMPLE.matchAll(/^#?\s*([a-z_]+)\s*=/gm)].map((m) => m[1]));
    const walk = (o: unknown, out: Set<string>) => {
      if (Array.isArray(o)) o.forEach((x) => walk(x, out));
      else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) (typeof v === 'object' ? walk(v, out) : out.add(k));
    };
    // Every key that can appear: defaults plus the optional ones, uncommented from the example.
    const uncommented = EXAMPLE.replace(/^# (?=\[\[|[a-z_]+ = )/gm, '');
    const full = parseConfig(uncommented.replace('strategy = "single"', 'strategy = "replicate"'));
    const keys = new Set<string>();
    walk(full, keys);
    for (const k of keys) expect(documented, k).toContain(k);
    expect(full.storage.backends.map((b) => b.type)).toEqual(['local', 's3', 'ipfs']);
    expect(full.storage.routing).toMatchObject({ strategy: 'replicate', replication_factor: 1, quorum: 0, data_shards: 4, parity_shards: 2 });
  });

  it('reads values with their types', () => {
    const c: ProllyConfig = parseConfig(`
[[storage.backends]]
name = "local"
type = "local"
path = "/data/store"

[[storage.backends]]
name = "cold"
type = "s3"
bucket = "my-bucket"
region = "eu-west-1"
storage_class = "GLACIER_IR"
max_age_days = 30

[storage.routing]
strategy = "age-based"

[cache]
size_mb = 64.5

[compression]
type = "none"

[security]
sign_commits = true
signing_key = "~/.ssh/id_ed25519"
`);
    expect(c.storage.backends[1]).toEqual({ name: 'cold', type: 's3', bucket: 'my-bucket', region: 'eu-west-1', storage_class: 'GLACIER_IR', max_age_days: 30 });
    expect(c.storage.routing.strategy).toBe('age-based');
    expect(c.cache).toEqual({ size_mb: 64.5, ttl_seconds: 0 });
    expect(c.compression).toEqual({ type: 'none', level: 3, local: false });
    expect(c.security).toMatchObject({ sign_commits: true, signing_key: '~/.ssh/id_ed25519', client_encryption: false });
  });

  it('TOML syntax errors point at the line and column', () => {
    const e = error('[cache]\nsize_mb = 1\nttl_seconds = [\n');
    expect(e.code).toBe('EBADCONFIG');
    expect(e.message).toMatch(/^c\.toml:4:1: invalid TOML/);
    expect(e.data).toMatchObject({ line: 4, column: 1 });
  });

  it('wrong types, ranges and unknown keys name the key and where it is', () => {
    expect(error('[cache]\nsize_mb = "big"\n').message).toBe('c.toml:2:1: cache.size_mb: must be a number ≥ 0, got "big"');
    expect(error('\n[compression]\n  level = 99\n').message).toBe('c.toml:3:3: compression.level: must be an integer between 1 and 22, got 99');
    expect(error('[compression]\ntype = "lz4"\n').message).toBe('c.toml:2:1: compression.type: must be one of "zstd", "none", got "lz4"');
    expect(error('[cache]\nsize_gb = 1\n').message).toBe('c.toml:2:1: cache.size_gb: unknown key (expected one of size_mb, ttl_seconds)');
    expect(error('[caches]\nx = 1\n').message).toMatch(/^c\.toml:1:1: caches: unknown section/);
    expect(error('[security]\nsign_commits = "yes"\n').message).toBe('c.toml:2:1: security.sign_commits: must be true or false, got "yes"');
    expect(error('[security]\nkey_provider = "vault"\n').message).toMatch(/^c\.toml:2:1: security\.key_provider: .*"env:NAME".*"file:PATH"/);
    for (const ok of ['env', 'env:PROLLY_KEY', 'file:/etc/prolly/key']) {
      expect(parseConfig(`[security]\nkey_provider = "${ok}"\n`).security.key_provider).toBe(ok);
    }
    const e = error('[cache]\nsize_mb = -1\n');
    expect(e.data).toMatchObject({ key: 'cache.size_mb', line: 2, column: 1 });
  });

  it('backends are checked per type, by index, with names unique', () => {
    const twoBackends = (second: string) => `[[storage.backends]]\nname = "local"\ntype = "local"\npath = "x"\n\n[[storage.backends]]\n${second}`;
    expect(error(twoBackends('name = "b"\ntype = "s3"\n')).message).toBe('c.toml:6:1: storage.backends[1]: an s3 backend needs a bucket');
    expect(error(twoBackends('name = "b"\ntype = "s3"\nbucket = "ok-bucket"\npath = "/x"\n')).message).toBe(
      'c.toml:10:1: storage.backends[1].path: does not apply to a s3 backend (allowed: name, type, bucket, region, endpoint, prefix, storage_class, max_age_days)',
    );
    expect(error(twoBackends('name = "local"\ntype = "ipfs"\nendpoint = "http://127.0.0.1:5001"\n')).message).toBe('c.toml:7:1: storage.backends[1].name: duplicate backend name "local"');
    expect(error(twoBackends('name = "b"\ntype = "ftp"\n')).message).toBe('c.toml:8:1: storage.backends[1].type: must be one of "local", "s3", "ipfs", got "ftp"');
    expect(error(twoBackends('name = "b"\ntype = "s3"\nbucket = "Bad_Bucket"\n')).message).toMatch(/storage\.backends\[1\]\.bucket: must be a valid S3 bucket name/);
  });

  it('routing settings are checked against each other and the backends', () => {
    expect(error('[storage.routing]\nstrategy = "replicate"\nreplication_factor = 3\n').message).toBe(
      'c.toml:3:1: storage.routing.replication_factor: is 3 but only 1 backend(s) are configured',
    );
    expect(error('[storage.routing]\nreplication_factor = 2\nquorum = 3\n').message).toBe('c.toml:3:1: storage.routing.quorum: must not exceed replication_factor (2), got 3');
    expect(error('[storage.routing]\nstrategy = "age-based"\n').message).toMatch(/age-based routing needs at least one backend with max_age_days/);
  });
});
