/**
 * The placement manifest: for every erasure-coded object, where its k + m shards live (backend id,
 * shard object name) and their checksums (SHA-256 of each shard, and a 16-byte truncated SHA-256 of
 * each block so a ranged read can check just the blocks it fetched).
 *
 * Like the pack manifest it is a union of immutable segments (`placement/<sha256>.seg`), each a
 * batch of records; a record with a higher `generation` replaces an older one for the same name
 * (repair writes a new generation; delete writes a tombstone). Segments are small and are copied to
 * every backend, so the manifest survives as long as any one backend does. With client encryption
 * each segment is sealed (AES-256-GCM) with a key from the keyring: an operator then sees only opaque
 * shard names and sealed segments, and cannot tell which of its objects belong to which pack, nor
 * where the other shards are.
 *
 * Segment plaintext: UTF-8 JSON { "format": "git-prolly-placement", "version": 1, "records": [...] }.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { sha256 } from '../../util/hash.js';

export const PLACEMENT_PREFIX = 'placement/';
const FORMAT = 'git-prolly-placement';
const VERSION = 1;
/** Bytes kept of each block's SHA-256. */
export const BLOCK_CHECKSUM_BYTES = 16;

/** One shard of an object. */
export interface ShardPlacement {
  /** Member id of the backend holding it; '' when the shard is not stored anywhere (written degraded). */
  backend: string;
  /** Object name on that backend. */
  object: string;
  /** Hex SHA-256 of the whole shard. */
  sha256: string;
  /** Base64 of BLOCK_CHECKSUM_BYTES per stripe. */
  blocks: string;
}

/** Where one object's shards are. */
export interface PlacementRecord {
  name: string;
  size: number;
  k: number;
  m: number;
  blockSize: number;
  /** Orders records of the same name: the highest wins. */
  generation: number;
  /** A tombstone: the object was deleted. */
  deleted?: boolean;
  /** k + m entries, data shards first. */
  shards: ShardPlacement[];
}

/** Encrypts segments when client encryption is on (the Keyring implements it). */
export interface PlacementSealer {
  seal(plain: Uint8Array, context: string): Uint8Array;
  open(sealed: Uint8Array, context: string, source: string): Uint8Array;
  /** A keyed label of `parts` (opaque shard object names). */
  label(...parts: string[]): Uint8Array;
}

const SEAL_CONTEXT = 'placement segment v1';

/**
 * Name of a segment: SHA-256 of its stored (possibly sealed) bytes.
 * @example segmentName(bytes) // 'placement/9f…e1.seg'
 */
export function segmentName(stored: Uint8Array): string {
  return `${PLACEMENT_PREFIX}${toHex(sha256(stored))}.seg`;
}

/** The hex hash in a segment name, or undefined when `name` is not a segment. */
export function segmentHash(name: string): string | undefined {
  const m = /^placement\/([0-9a-f]{64})\.seg$/.exec(name);
  return m ? m[1] : undefined;
}

/**
 * Stored bytes of a segment holding `records`.
 * @example const stored = encodeSegment(records, sealer); await backend.put(segmentName(stored), stored);
 */
export function encodeSegment(records: readonly PlacementRecord[], sealer?: PlacementSealer): Uint8Array {
  const plain = new Uint8Array(Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, records })));
  return sealer ? sealer.seal(plain, SEAL_CONTEXT) : plain;
}

/**
 * Records of stored segment bytes. `source` names it in errors. A sealed segment without a sealer
 * (or the reverse) is reported as such.
 */
export function decodeSegment(stored: Uint8Array, source: string, sealer?: PlacementSealer): PlacementRecord[] {
  const looksPlain = stored[0] === 0x7b; // '{'
  if (!sealer && !looksPlain) {
    throw new ProllyError(ErrorCodes.KEY_MISSING, `${source} is encrypted: turn on client_encryption with the key it was written with`, { source });
  }
  if (sealer && looksPlain) {
    throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${source} is not encrypted but client_encryption is on: refusing an unauthenticated placement segment`, { source });
  }
  const plain = sealer ? sealer.open(stored, SEAL_CONTEXT, source) : stored;
  let j: { format?: string; version?: number; records?: PlacementRecord[] };
  try {
    j = JSON.parse(Buffer.from(plain).toString('utf8')) as typeof j;
  } catch {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `${source}: placement segment is not valid JSON`, { source });
  }
  if (j.format !== FORMAT || j.version !== VERSION || !Array.isArray(j.records)) {
    throw new ProllyError(ErrorCodes.BAD_ENCODING, `${source}: not a placement segment of a known version`, { source });
  }
  for (const r of j.records) {
    if (typeof r.name !== 'string' || !Number.isSafeInteger(r.size) || !Array.isArray(r.shards) || (!r.deleted && r.shards.length !== r.k + r.m)) {
      throw new ProllyError(ErrorCodes.BAD_ENCODING, `${source}: malformed placement record ${JSON.stringify(r.name)}`, { source });
    }
  }
  return j.records;
}

/**
 * The union of placement records: latest generation per object name.
 * @example const m = new PlacementManifest(); m.add(records); m.get('packs/ab.pack')
 */
export class PlacementManifest {
  private readonly byName = new Map<string, PlacementRecord>();

  add(records: readonly PlacementRecord[]): void {
    for (const r of records) {
      const cur = this.byName.get(r.name);
      if (!cur || r.generation > cur.generation) this.byName.set(r.name, r);
    }
  }

  /** The live record of `name` (undefined when absent or deleted). */
  get(name: string): PlacementRecord | undefined {
    const r = this.byName.get(name);
    return r && !r.deleted ? r : undefined;
  }

  /** Every record, tombstones included (for compaction). */
  all(): PlacementRecord[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Live records, sorted by name. */
  live(): PlacementRecord[] {
    return this.all().filter((r) => !r.deleted);
  }
}
