/**
 * Pack layout: constants and types shared by the pack writer (pack-builder.ts) and the readers
 * (pack-format.ts). The byte layout is documented in pack-format.ts and docs/FORMAT.md.
 */
import { toHex } from '../../util/bytes.js';

export const PACK_MAGIC = 'PRLYPACK';
export const PACK_FOOTER_MAGIC = 'PRLYPIDX';
/** Version of packs whose chunks are all stored as they are. */
export const PACK_VERSION = 1;
/** Version of packs that hold compressed blocks. */
export const PACK_VERSION_BLOCKS = 2;
/** Bytes before the first chunk. */
export const PACK_HEADER_BYTES = 12;
/** Bytes of the trailing footer. */
export const PACK_FOOTER_BYTES = 16;
/** Bytes per pack index entry (version 1). */
export const PACK_ENTRY_BYTES = 72;
/** Bytes per pack index entry (version 2). */
export const PACK_ENTRY_BYTES_V2 = 80;
/** Packs address chunks with u32 offsets. */
export const PACK_MAX_BYTES = 0xffff_ffff;
/** Block codec byte: the payload is the decoded bytes themselves. */
export const BLOCK_CODEC_RAW = 0;
/** Block codec byte: the payload is one zstd frame. */
export const BLOCK_CODEC_ZSTD = 1;
/** Default decoded size at which a block is closed and compressed. */
export const DEFAULT_BLOCK_BYTES = 128 * 1024;
/**
 * A block closing waits for the block this many places before it to finish compressing, and only
 * blocks that far back count at their compressed size when deciding where a pack ends. That keeps
 * pack boundaries a function of the chunks alone (not of thread timing), so a re-run of a push
 * seals the same packs, while this many compressions run alongside the caller.
 */
export const BLOCK_LAG = 4;

/** One chunk inside a pack. */
export interface PackEntry {
  address: Uint8Array;
  /** SHA-256 of the chunk's stored bytes (decoded bytes, for a chunk in a block). */
  checksum: Uint8Array;
  /** Where the bytes to fetch lie in the pack: the chunk itself, or the block holding it. */
  offset: number;
  length: number;
  /** For a chunk in a block: its place in the block's decoded bytes. */
  within?: { offset: number; length: number };
}

/** A pack ready to upload. */
export interface EncodedPack {
  /** SHA-256 of `bytes`, which also names the object. */
  hash: Uint8Array;
  bytes: Uint8Array;
  /** Entries sorted by address. */
  entries: PackEntry[];
  /** Offset of the index inside `bytes`. */
  indexOffset: number;
  version: number;
}

/** Compressing chunks in blocks (pack version 2). */
export interface PackBlockOptions {
  /** zstd level, 1..22. */
  level: number;
  /** Close a block once it holds this many decoded bytes (default 128 KiB). */
  blockBytes?: number;
  /** Chunks for which this is false are stored as they are (e.g. already compressed ones). */
  compressible?: (bytes: Uint8Array, address: Uint8Array) => boolean;
}

/** A sealed pack's bytes, before hashing. */
export interface BuiltPack {
  bytes: Uint8Array;
  indexOffset: number;
  entryCount: number;
  version: number;
  /** The index region of `bytes`, copied (kept after the pack bytes are released). */
  index: Uint8Array;
}

/**
 * Object name of a pack.
 * @example packObjectName(hash) // 'packs/3f2a….pack'
 */
export function packObjectName(hash: Uint8Array): string {
  return `packs/${toHex(hash)}.pack`;
}

/**
 * Bytes of one index entry in a pack of `version`.
 * @example packEntryBytes(2) // 80
 */
export function packEntryBytes(version: number): number {
  return version === PACK_VERSION_BLOCKS ? PACK_ENTRY_BYTES_V2 : PACK_ENTRY_BYTES;
}
