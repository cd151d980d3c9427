/**
 * The pack object: many stored chunks back to back, followed by a sorted index and a fixed footer,
 * named by the SHA-256 of its bytes. Byte layout (docs/FORMAT.md, "Packs and remote manifests"):
 *
 *   "PRLYPACK" | version u8 = 1 | 3 zero bytes | chunk bytes… | index | footer
 *   index entry (72 B): address[32] | checksum[32] | offset u32 | length u32   (sorted by address)
 *   footer (16 B):      indexOffset u32 | entryCount u32 | "PRLYPIDX"
 *
 * Integers are big-endian. `checksum` is the SHA-256 of the stored bytes at [offset, offset+length),
 * which differ from the address when a layer above compresses or encrypts.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { compareBytes, toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';

export const PACK_MAGIC = 'PRLYPACK';
export const PACK_FOOTER_MAGIC = 'PRLYPIDX';
export const PACK_VERSION = 1;
/** Bytes before the first chunk. */
export const PACK_HEADER_BYTES = 12;
/** Bytes of the trailing footer. */
export const PACK_FOOTER_BYTES = 16;
/** Bytes per pack index entry. */
export const PACK_ENTRY_BYTES = 72;
/** Packs address chunks with u32 offsets. */
export const PACK_MAX_BYTES = 0xffff_ffff;

/** One chunk inside a pack. */
export interface PackEntry {
  address: Uint8Array;
  /** SHA-256 of the stored bytes. */
  checksum: Uint8Array;
  offset: number;
  length: number;
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
}

/**
 * Object name of a pack.
 * @example packObjectName(hash) // 'packs/3f2a….pack'
 */
export function packObjectName(hash: Uint8Array): string {
  return `packs/${toHex(hash)}.pack`;
}

/**
 * Build a pack from chunks in the order given (readers coalesce ranged GETs for chunks written
 * together). Duplicate addresses keep their first occurrence.
 *
 * @example
 * const pack = encodePack([{ address, bytes }]);
 * await backend.put(packObjectName(pack.hash), pack.bytes, { sha256: pack.hash });
 */
export function encodePack(chunks: readonly { address: Uint8Array; bytes: Uint8Array; checksum?: Uint8Array }[]): EncodedPack {
  const seen = new Set<string>();
  const entries: PackEntry[] = [];
  let dataBytes = 0;
  const unique: { address: Uint8Array; bytes: Uint8Array; checksum?: Uint8Array }[] = [];
  for (const c of chunks) {
    if (c.address.length !== ADDRESS_BYTES) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk address must be ${ADDRESS_BYTES} bytes, got ${c.address.length}`, {});
    }
    const key = Buffer.from(c.address).toString('latin1');
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(c);
    dataBytes += c.bytes.length;
  }
  const indexOffset = PACK_HEADER_BYTES + dataBytes;
  const total = indexOffset + unique.length * PACK_ENTRY_BYTES + PACK_FOOTER_BYTES;
  if (total > PACK_MAX_BYTES) {
    throw new ProllyError(ErrorCodes.CHUNK_TOO_LARGE, `pack of ${total} bytes exceeds the ${PACK_MAX_BYTES}-byte pack limit`, {
      bytes: total,
    });
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(PACK_MAGIC, 'latin1'), 0);
  out[8] = PACK_VERSION;
  let offset = PACK_HEADER_BYTES;
  for (const c of unique) {
    out.set(c.bytes, offset);
    entries.push({ address: c.address, checksum: c.checksum ?? sha256(c.bytes), offset, length: c.bytes.length });
    offset += c.bytes.length;
  }
  entries.sort((a, b) => compareBytes(a.address, b.address));
  let p = indexOffset;
  for (const e of entries) {
    out.set(e.address, p);
    out.set(e.checksum, p + 32);
    view.setUint32(p + 64, e.offset);
    view.setUint32(p + 68, e.length);
    p += PACK_ENTRY_BYTES;
  }
  view.setUint32(p, indexOffset);
  view.setUint32(p + 4, entries.length);
  out.set(Buffer.from(PACK_FOOTER_MAGIC, 'latin1'), p + 8);
  return { hash: sha256(out), bytes: out, entries, indexOffset };
}

/**
 * Read the footer (the last 16 bytes of a pack): where the index starts and how many entries it has.
 * @example const { indexOffset, entryCount } = decodePackFooter(last16, packSize, 'packs/ab.pack');
 */
export function decodePackFooter(footer: Uint8Array, packSize: number, packName: string): { indexOffset: number; entryCount: number } {
  if (footer.length !== PACK_FOOTER_BYTES || Buffer.from(footer.subarray(8)).toString('latin1') !== PACK_FOOTER_MAGIC) {
    throw bad(packName, 'missing pack footer');
  }
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const indexOffset = view.getUint32(0);
  const entryCount = view.getUint32(4);
  if (indexOffset < PACK_HEADER_BYTES || indexOffset + entryCount * PACK_ENTRY_BYTES + PACK_FOOTER_BYTES !== packSize) {
    throw bad(packName, `footer says index at ${indexOffset} with ${entryCount} entries, which does not fit a ${packSize}-byte pack`);
  }
  return { indexOffset, entryCount };
}

/**
 * Decode and validate a pack index (the bytes between indexOffset and the footer).
 * Checks sort order, uniqueness and that every chunk lies inside the data area.
 * @example const entries = decodePackIndex(indexBytes, indexOffset, 'packs/ab.pack');
 */
export function decodePackIndex(index: Uint8Array, indexOffset: number, packName: string): PackEntry[] {
  if (index.length % PACK_ENTRY_BYTES !== 0) throw bad(packName, `index of ${index.length} bytes is not a whole number of entries`);
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const entries: PackEntry[] = [];
  for (let p = 0; p < index.length; p += PACK_ENTRY_BYTES) {
    const e: PackEntry = {
      address: index.slice(p, p + 32),
      checksum: index.slice(p + 32, p + 64),
      offset: view.getUint32(p + 64),
      length: view.getUint32(p + 68),
    };
    if (e.offset < PACK_HEADER_BYTES || e.offset + e.length > indexOffset) {
      throw bad(packName, `chunk ${toHex(e.address)} at [${e.offset}, ${e.offset + e.length}) lies outside the data area`);
    }
    const prev = entries[entries.length - 1];
    if (prev && compareBytes(prev.address, e.address) >= 0) throw bad(packName, 'index entries are not sorted and unique');
    entries.push(e);
  }
  return entries;
}

/**
 * Decode a whole pack, checking its header, footer and index (not the chunk checksums).
 * @example const { entries } = decodePack(bytes, 'packs/ab.pack');
 */
export function decodePack(bytes: Uint8Array, packName: string): { entries: PackEntry[]; indexOffset: number } {
  if (bytes.length < PACK_HEADER_BYTES + PACK_FOOTER_BYTES || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== PACK_MAGIC) {
    throw bad(packName, 'not a pack (bad magic)');
  }
  if (bytes[8] !== PACK_VERSION) throw bad(packName, `unsupported pack version ${bytes[8]}`);
  const { indexOffset, entryCount } = decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_BYTES), bytes.length, packName);
  const entries = decodePackIndex(bytes.subarray(indexOffset, indexOffset + entryCount * PACK_ENTRY_BYTES), indexOffset, packName);
  return { entries, indexOffset };
}

function bad(packName: string, what: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `${packName}: ${what}`, { object: packName });
}
