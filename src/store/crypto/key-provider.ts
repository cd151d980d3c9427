/**
 * Where the master encryption key comes from ([security] key_provider). The key itself is never
 * written to the committed configuration: the config names a provider, the provider reads the key
 * from the environment or a file at run time. A KMS (AWS KMS, Vault, …) can implement the same
 * interface later without touching the storage layers.
 *
 * Key text format (env and file): 32 bytes as 64 hex digits, or as base64 (44 characters). A file
 * may also hold the 32 raw bytes. Generate one with `openssl rand -hex 32` or {@link generateMasterKeyText}.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';

/** Bytes of a master key. */
export const MASTER_KEY_BYTES = 32;

/** The environment variable `key_provider = "env"` reads. */
export const DEFAULT_KEY_ENV = 'GIT_PROLLY_ENCRYPTION_KEY';

/**
 * A source of the 32-byte master key.
 *
 * @example
 * const provider = parseKeyProvider('env:PROLLY_KEY');
 * const master = await provider.getKey(); // throws EKEYMISSING when PROLLY_KEY is unset
 */
export interface KeyProvider {
  /** Where the key comes from, for messages (never the key itself), e.g. `env:PROLLY_KEY`. */
  readonly description: string;
  /** The master key (32 bytes). Throws ProllyError EKEYMISSING when there is none, EBADKEY when it does not parse. */
  getKey(): Promise<Uint8Array>;
}

/**
 * Reads the key from an environment variable.
 * @example await new EnvKeyProvider({ variable: 'PROLLY_KEY' }).getKey()
 */
export class EnvKeyProvider implements KeyProvider {
  readonly description: string;
  private readonly variable: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: { variable?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.variable = opts.variable ?? DEFAULT_KEY_ENV;
    this.env = opts.env ?? process.env;
    this.description = `env:${this.variable}`;
  }

  async getKey(): Promise<Uint8Array> {
    const text = this.env[this.variable];
    if (text === undefined || text.trim() === '') {
      throw new ProllyError(
        ErrorCodes.KEY_MISSING,
        `client encryption is on but no key is set: environment variable ${this.variable} is empty (key_provider "${this.description}"; generate one with \`openssl rand -hex 32\`)`,
        { provider: this.description },
      );
    }
    return parseKeyText(text, this.description);
  }
}

/**
 * Reads the key from a file (hex or base64 text, or 32 raw bytes).
 * @example await new FileKeyProvider({ path: '~/.config/prolly/key' }).getKey()
 */
export class FileKeyProvider implements KeyProvider {
  readonly description: string;
  readonly path: string;

  constructor(opts: { path: string; cwd?: string }) {
    const home = process.env.HOME ?? '';
    const p = opts.path.startsWith('~/') ? `${home}${opts.path.slice(1)}` : opts.path;
    this.path = isAbsolute(p) ? p : resolve(opts.cwd ?? process.cwd(), p);
    this.description = `file:${this.path}`;
  }

  async getKey(): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ProllyError(
        ErrorCodes.KEY_MISSING,
        `client encryption is on but the key file ${this.path} cannot be read (${code ?? String(e)})`,
        { provider: this.description, file: this.path },
        { cause: e },
      );
    }
    if (bytes.length === MASTER_KEY_BYTES) return new Uint8Array(bytes);
    return parseKeyText(bytes.toString('utf8'), this.description);
  }
}

/** A provider over a key already in memory (tests, embedders that fetch keys themselves). */
export class StaticKeyProvider implements KeyProvider {
  readonly description: string;
  private readonly key: Uint8Array;

  /** @example new StaticKeyProvider(randomBytes(32)) */
  constructor(key: Uint8Array, description = 'static') {
    if (key.length !== MASTER_KEY_BYTES) throw invalidArgument(`a master key is ${MASTER_KEY_BYTES} bytes, got ${key.length}`);
    this.key = Uint8Array.from(key);
    this.description = description;
  }

  async getKey(): Promise<Uint8Array> {
    return Uint8Array.from(this.key);
  }
}

/**
 * The provider a `key_provider` setting names: `env` (GIT_PROLLY_ENCRYPTION_KEY), `env:NAME`, or
 * `file:PATH` (relative paths resolve against `cwd`, `~/` against the home directory).
 *
 * @example parseKeyProvider('file:~/.prolly-key').description // 'file:/home/me/.prolly-key'
 */
export function parseKeyProvider(spec: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): KeyProvider {
  const s = spec.trim();
  if (s === 'env') return new EnvKeyProvider({ env: opts.env });
  const colon = s.indexOf(':');
  const kind = colon < 0 ? s : s.slice(0, colon);
  const arg = colon < 0 ? '' : s.slice(colon + 1);
  if (kind === 'env' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(arg)) return new EnvKeyProvider({ variable: arg, env: opts.env });
  if (kind === 'file' && arg.length > 0) return new FileKeyProvider({ path: arg, cwd: opts.cwd });
  throw new ProllyError(
    ErrorCodes.BAD_CONFIG,
    `security.key_provider: ${JSON.stringify(spec)} is not a key provider (use "env", "env:NAME" or "file:PATH")`,
    { key: 'security.key_provider', value: spec },
  );
}

/**
 * Decode key text: 64 hex digits or base64 of 32 bytes (surrounding whitespace ignored).
 * @example parseKeyText('00'.repeat(32), 'test').length // 32
 */
export function parseKeyText(text: string, source: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Uint8Array.from(Buffer.from(t, 'hex'));
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === MASTER_KEY_BYTES) return new Uint8Array(b);
  }
  throw new ProllyError(
    ErrorCodes.BAD_KEY,
    `the encryption key from ${source} is not ${MASTER_KEY_BYTES} bytes as 64 hex digits or base64 (got ${t.length} characters)`,
    { provider: source },
  );
}

/**
 * A fresh random master key as 64 hex digits (what `openssl rand -hex 32` prints).
 * @example process.env.GIT_PROLLY_ENCRYPTION_KEY = generateMasterKeyText();
 */
export function generateMasterKeyText(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('hex');
}
