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
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Shorthand for argument validation failures. */
export function invalidArgument(message: string, data: Record<string, unknown> = {}): ProllyError {
  return new ProllyError(ErrorCodes.INVALID_ARGUMENT, message, data);
}
