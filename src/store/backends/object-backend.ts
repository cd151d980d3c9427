/**
 * The thin "blob of bytes by name" API that the pack layer writes to. S3 and a local or shared
 * directory implement it; nothing above it knows which. Names are relative paths made of
 * `[A-Za-z0-9._-]` segments joined by `/` (the pack layer only uses `packs/<hex>.pack` and
 * `manifest/<hex>.seg`), so every backend can map them to keys or files without escaping.
 */
import { invalidArgument } from '../../errors.js';

/** A byte range of an object: `start` inclusive, `end` exclusive (like `Uint8Array.slice`). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutObjectOptions {
  /** SHA-256 of `bytes`; backends that can have the server check it (S3) send it. Computed when absent. */
  sha256?: Uint8Array;
  /** MIME type recorded with the object where the backend keeps one. */
  contentType?: string;
  /** Write-once retention (S3 Object Lock): the object cannot be deleted or overwritten before this date. */
  retainUntil?: Date;
}

/** What `head` and `list` report about an object. */
export interface ObjectInfo {
  name: string;
  size: number;
}

/** Request counters every backend keeps, so tests and benchmarks can assert on I/O cost. */
export interface ObjectBackendStats {
  puts: number;
  gets: number;
  heads: number;
  lists: number;
  deletes: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * A flat namespace of immutable-by-convention objects. Implementations: DirectoryBackend, S3Backend.
 *
 * @example
 * await backend.put('packs/ab12.pack', bytes, { sha256: digest });
 * const head = await backend.get('packs/ab12.pack', { start: 0, end: 12 });
 * for await (const { name, size } of backend.list('manifest/')) …
 */
export interface ObjectBackend {
  /** Identity for error messages, e.g. `s3://bucket/prefix` or `dir:/mnt/share/store`. */
  readonly name: string;
  readonly stats: ObjectBackendStats;
  /** Store `bytes` under `name`, replacing any object there. Resolves once the bytes are durable. */
  put(name: string, bytes: Uint8Array, opts?: PutObjectOptions): Promise<void>;
  /**
   * Store `bytes` unless `name` exists; resolves `true` if this call wrote it. Atomic on
   * DirectoryBackend (link(2)); on S3 atomic only with `conditionalPut: 'if-none-match'` (servers
   * that honour `If-None-Match: *`), otherwise HEAD-then-PUT. The pack layer only uses it for
   * content-addressed objects, where a lost race writes identical bytes, so both are safe there.
   */
  putIfAbsent(name: string, bytes: Uint8Array, opts?: PutObjectOptions): Promise<boolean>;
  /** The object's bytes (or the `range` of them); `undefined` when there is no such object. */
  get(name: string, range?: ByteRange): Promise<Uint8Array | undefined>;
  /** Size of the object, or `undefined` when absent. */
  head(name: string): Promise<ObjectInfo | undefined>;
  /** Every object whose name starts with `prefix` (names relative to the backend's root). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Remove the object; absent objects are not an error. */
  delete(name: string): Promise<void>;
}

const NAME_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Throw EINVAL unless `name` is a relative object name every backend can store as-is.
 * @example assertObjectName('packs/ab12.pack') // ok; assertObjectName('../x') throws
 */
export function assertObjectName(name: string): void {
  const parts = name.split('/');
  for (const p of parts) {
    if (!NAME_SEGMENT.test(p) || p === '.' || p === '..') {
      throw invalidArgument(`invalid object name ${JSON.stringify(name)}: use [A-Za-z0-9._-] segments separated by /`, {
        name,
      });
    }
  }
}

/**
 * Throw EINVAL unless `range` is a non-empty, non-negative integer range.
 * @example assertRange('packs/x.pack', { start: 0, end: 10 })
 */
export function assertRange(name: string, range: ByteRange): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end <= range.start) {
    throw invalidArgument(`invalid byte range [${range.start}, ${range.end}) for object ${name}`, { name, range });
  }
}

/**
 * Fresh zeroed counters.
 * @example const stats = emptyBackendStats(); stats.puts++;
 */
export function emptyBackendStats(): ObjectBackendStats {
  return { puts: 0, gets: 0, heads: 0, lists: 0, deletes: 0, bytesUp: 0, bytesDown: 0 };
}
