/**
 * Every error git-prolly raises on purpose is a `ProllyError` with a stable `code` and
 * structured `data`, so callers can branch on `err.code` and the CLI can map codes to exit codes.
 *
 * @example
 * try { await ds.get(key) } catch (e) { if (e instanceof ProllyError && e.code === 'ECHUNKMISSING') … }
 */
export class ProllyError extends Error {
  readonly code: string;
  readonly data: Record<string, unknown>;
  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProllyError';
    this.code = code;
    this.data = data;
  }
}

/** Codes, one per failure kind. Kept in one place so docs and the CLI can list them. */
export const ErrorCodes = {
  /** Caller passed something invalid (bad option, wrong type). */
  INVALID_ARGUMENT: 'EINVAL',
  /** A key longer than MAX_KEY_BYTES. */
  KEY_TOO_LONG: 'EKEYTOOLONG',
  /** A chunk was asked for but no store has it. */
  CHUNK_MISSING: 'ECHUNKMISSING',
  /** A chunk's bytes do not hash to its address. */
  CHUNK_CORRUPT: 'ECHUNKCORRUPT',
  /** Bytes that do not decode as a node / blob index / pack. */
  BAD_ENCODING: 'EBADENCODING',
  /** A three-way merge found conflicts under the `fail` strategy. */
  MERGE_CONFLICT: 'EMERGECONFLICT',
  /** Another process holds a lock. */
  LOCKED: 'ELOCKED',
  /** A store was used after close(). */
  CLOSED: 'ECLOSED',
  /** An SSH private key is passphrase-protected (signing needs an unencrypted key for now). */
  KEY_ENCRYPTED: 'EKEYENCRYPTED',
  /** An SSH key (private key file, public key line) that does not parse or is of an unsupported type. */
  BAD_KEY: 'EBADKEY',
  /** An allowed-signers file line that does not parse. */
  BAD_ALLOWED_SIGNERS: 'EALLOWEDSIGNERS',
  /** A storage backend (S3, IPFS node, shared directory) failed or is unreachable; `data` names it. */
  BACKEND: 'EBACKEND',
  /** A chunk is larger than a tier accepts (e.g. IPFS blocks are limited to 1 MiB). */
  CHUNK_TOO_LARGE: 'ECHUNKTOOLARGE',
  /** A SQL table schema that is invalid (bad name, duplicate column, unknown type, bad key); `data` names the column. */
  SQL_SCHEMA: 'ESQLSCHEMA',
  /** A SQL value that does not fit its column (wrong type, out of range, NULL in a NOT NULL column). */
  SQL_VALUE: 'ESQLVALUE',
  /** A write (put) to a store opened read-only. */
  READ_ONLY: 'EREADONLY',
  /** A directory that is not inside a git work tree (or a bare repository). */
  NOT_A_REPOSITORY: 'ENOTREPO',
  /** A git repository where `git prolly init` has not run. */
  NOT_INITIALIZED: 'ENOTINIT',
  /** A dataset name that does not exist (at the revision asked). */
  UNKNOWN_DATASET: 'ENODATASET',
  /** A dataset pointer file that does not parse; `data` names the file and line. */
  BAD_POINTER: 'EBADPOINTER',
  /** `.prolly/config.toml` that does not parse or has a wrong key/type; `data` names the key, line and column. */
  BAD_CONFIG: 'EBADCONFIG',
  /** Import input that does not parse (malformed CSV/NDJSON/JSON); `data` names the file and line. */
  BAD_INPUT: 'EBADINPUT',
  /** A git revision that does not resolve to a commit. */
  UNKNOWN_REVISION: 'EBADREV',
  /** The git repository is in a state git-prolly cannot work with (unmerged paths, unsupported index, …). */
  GIT_STATE: 'EGITSTATE',
  /** Client-side encryption is on but the key provider has no key (unset variable, missing file). */
  KEY_MISSING: 'EKEYMISSING',
  /** The encryption key does not open the remote's keyring (key check failed), or an object names a key id the keyring lacks. */
  KEY_WRONG: 'EKEYWRONG',
  /** A write reached fewer backends than the configured quorum; nothing was recorded as stored. */
  WRITE_QUORUM: 'EQUORUM',
  /** Erasure-coded objects with fewer than k readable shards: data lost beyond the configured redundancy; `data` names them. */
  UNRECOVERABLE: 'EUNRECOVERABLE',
  /** SQL text that does not parse; `data` has line, column and the token. */
  SQL_SYNTAX: 'ESQLSYNTAX',
  /** A SQL statement broke a constraint (duplicate primary key / unique index value); `data` names the table, column and row. */
  SQL_CONSTRAINT: 'ESQLCONSTRAINT',
  /** A SQL statement names a table, column or index that does not exist (or one that already exists). */
  SQL_NAME: 'ESQLNAME',
  /** A SQL statement that is valid SQL but not supported here, or used in the wrong state (COMMIT outside a transaction…). */
  SQL_UNSUPPORTED: 'ESQLUNSUPPORTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Shorthand for argument validation failures. */
export function invalidArgument(message: string, data: Record<string, unknown> = {}): ProllyError {
  return new ProllyError(ErrorCodes.INVALID_ARGUMENT, message, data);
}
