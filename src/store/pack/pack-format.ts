/**
 * The pack object: many stored chunks, followed by a sorted index and a fixed footer, named by the
 * SHA-256 of its bytes. Byte layout (docs/FORMAT.md, "Packs and remote manifests"):
 *
 *   "PRLYPACK" | version u8 (1 or 2) | 3 zero bytes | data… | index | footer
 *   version 1 data: chunk bytes back to back
 *   version 2 data: chunk bytes stored as they are, then blocks (codec u8 | payload)
 *   index entry, v1 (72 B): address[32] | checksum[32] | offset u32 | length u32
 *   index entry, v2 (80 B): address[32] | checksum[32] | offset u32 | length u32 | blockOffset u32 | blockLength u32
 *   footer (16 B):          indexOffset u32 | entryCount u32 | "PRLYPIDX"
 *
 * Integers are big-endian; entries are sorted by address. `checksum` is the SHA-256 of the chunk's
 * bytes as handed to the pack store (its stored form), which differ from the address when a layer
 * above compresses or encrypts. In version 2 an entry with blockLength > 0 lies at [offset,
 * offset+length) of the decoded bytes of the block at [blockOffset, blockOffset+blockLength); one
 * with blockLength = 0 lies at [offset, offset+length) of the pack, as in version 1.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { compareBytes, toHex } from '../../util/bytes.js';
import { ADDRESS_BYTES, sha256 } from '../../util/hash.js';
import { asBuffer, zstdBinding } from '../zstd.js';
import { PackBuilder } from './pack-builder.js';
import {
  BLOCK_CODEC_RAW,
  BLOCK_CODEC_ZSTD,
  PACK_ENTRY_BYTES,
  PACK_ENTRY_BYTES_V2,
  PACK_FOOTER_BYTES,
  PACK_FOOTER_MAGIC,
  PACK_HEADER_BYTES,
  PACK_MAGIC,
  PACK_VERSION,
  PACK_VERSION_BLOCKS,
  packEntryBytes,
  type BuiltPack,
  type EncodedPack,
  type PackBlockOptions,
  type PackEntry,
} from './pack-layout.js';

export * from './pack-layout.js';
export { PackBuilder } from './pack-builder.js';

/**
 * Build a version 1 pack from chunks in the order given (readers coalesce ranged GETs for chunks
 * written together). Duplicate addresses keep their first occurrence.
 *
 * @example
 * const pack = encodePack([{ address, bytes }]);
 * await backend.put(packObjectName(pack.hash), pack.bytes, { sha256: pack.hash });
 */
export function encodePack(chunks: readonly { address: Uint8Array; bytes: Uint8Array; checksum?: Uint8Array }[]): EncodedPack {
  let total = 0;
  for (const c of chunks) total += c.bytes.length;
  const builder = new PackBuilder({ initialBytes: total + chunks.length * PACK_ENTRY_BYTES + PACK_FOOTER_BYTES, initialEntries: chunks.length });
  addUnique(builder, chunks);
  return finish(builder.sealPlain());
}

/**
 * Build a pack, compressing chunks in blocks when `blocks` is given (version 2; see PackBuilder).
 * @example const pack = await encodePackAsync(chunks, { level: 3 });
 */
export async function encodePackAsync(
  chunks: readonly { address: Uint8Array; bytes: Uint8Array; checksum?: Uint8Array }[],
  blocks?: PackBlockOptions,
): Promise<EncodedPack> {
  if (!blocks) return encodePack(chunks);
  const builder = new PackBuilder({ blocks, initialEntries: chunks.length });
  const seen = new Set<string>();
  for (const c of chunks) {
    const key = Buffer.from(c.address).toString('latin1');
    if (seen.has(key)) continue;
    seen.add(key);
    await builder.add(c.address, c.bytes, c.checksum);
  }
  return finish(await builder.seal());
}

function addUnique(builder: PackBuilder, chunks: readonly { address: Uint8Array; bytes: Uint8Array; checksum?: Uint8Array }[]): void {
  const seen = new Set<string>();
  for (const c of chunks) {
    if (c.address.length !== ADDRESS_BYTES) {
      throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `chunk address must be ${ADDRESS_BYTES} bytes, got ${c.address.length}`, {});
    }
    const key = Buffer.from(c.address).toString('latin1');
    if (seen.has(key)) continue;
    seen.add(key);
    void builder.add(c.address, c.bytes, c.checksum);
  }
}

function finish(built: BuiltPack): EncodedPack {
  const entries = decodePackIndex(built.index, built.indexOffset, 'new pack', built.version);
  return { hash: sha256(built.bytes), bytes: built.bytes, entries, indexOffset: built.indexOffset, version: built.version };
}

/**
 * Read the footer (the last 16 bytes of a pack): where the index starts, how many entries it has
 * and their size (72 bytes in version 1 packs, 80 in version 2: the footer alone tells them apart).
 * @example const { indexOffset, entryCount } = decodePackFooter(last16, packSize, 'packs/ab.pack');
 */
export function decodePackFooter(footer: Uint8Array, packSize: number, packName: string): { indexOffset: number; entryCount: number; entryBytes: number } {
  if (footer.length !== PACK_FOOTER_BYTES || Buffer.from(footer.subarray(8)).toString('latin1') !== PACK_FOOTER_MAGIC) {
    throw bad(packName, 'missing pack footer');
  }
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const indexOffset = view.getUint32(0);
  const entryCount = view.getUint32(4);
  const indexBytes = packSize - PACK_FOOTER_BYTES - indexOffset;
  const entryBytes = entryCount > 0 && indexBytes === entryCount * PACK_ENTRY_BYTES_V2 ? PACK_ENTRY_BYTES_V2 : PACK_ENTRY_BYTES;
  if (indexOffset < PACK_HEADER_BYTES || indexBytes !== entryCount * entryBytes) {
    throw bad(packName, `footer says index at ${indexOffset} with ${entryCount} entries, which does not fit a ${packSize}-byte pack`);
  }
  return { indexOffset, entryCount, entryBytes };
}

/**
 * Decode and validate a pack index (the bytes between indexOffset and the footer) of a pack of
 * `version`. Checks sort order, uniqueness and that every chunk or block lies inside the data area.
 * @example const entries = decodePackIndex(indexBytes, indexOffset, 'packs/ab.pack', 1);
 */
export function decodePackIndex(index: Uint8Array, indexOffset: number, packName: string, version = PACK_VERSION): PackEntry[] {
  const size = packEntryBytes(version);
  if (index.length % size !== 0) throw bad(packName, `index of ${index.length} bytes is not a whole number of entries`);
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const entries: PackEntry[] = [];
  for (let p = 0; p < index.length; p += size) {
    const address = index.slice(p, p + 32);
    const checksum = index.slice(p + 32, p + 64);
    const offset = view.getUint32(p + 64);
    const length = view.getUint32(p + 68);
    const blockOffset = version === PACK_VERSION_BLOCKS ? view.getUint32(p + 72) : 0;
    const blockLength = version === PACK_VERSION_BLOCKS ? view.getUint32(p + 76) : 0;
    const e: PackEntry =
      blockLength === 0
        ? { address, checksum, offset, length }
        : { address, checksum, offset: blockOffset, length: blockLength, within: { offset, length } };
    if (blockLength === 0 && blockOffset !== 0) throw bad(packName, `chunk ${toHex(address)} has a block offset but no block`);
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
export function decodePack(bytes: Uint8Array, packName: string): { entries: PackEntry[]; indexOffset: number; version: number } {
  if (bytes.length < PACK_HEADER_BYTES + PACK_FOOTER_BYTES || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== PACK_MAGIC) {
    throw bad(packName, 'not a pack (bad magic)');
  }
  const version = bytes[8]!;
  if (version !== PACK_VERSION && version !== PACK_VERSION_BLOCKS) throw bad(packName, `unsupported pack version ${version}`);
  const { indexOffset, entryCount, entryBytes } = decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_BYTES), bytes.length, packName);
  if (entryCount > 0 && entryBytes !== packEntryBytes(version)) throw bad(packName, `index entries do not match pack version ${version}`);
  const entries = decodePackIndex(bytes.subarray(indexOffset, indexOffset + entryCount * entryBytes), indexOffset, packName, version);
  return { entries, indexOffset, version };
}

/**
 * The decoded bytes of a block (codec byte + payload); BAD_ENCODING naming `where` when the codec
 * is unknown or the payload does not decode.
 * @example const decoded = await decodeBlock(stored, 'packs/ab.pack at 12');
 */
export async function decodeBlock(stored: Uint8Array, where: string): Promise<Uint8Array> {
  const codec = stored[0];
  if (codec === BLOCK_CODEC_RAW) return stored.subarray(1);
  if (codec !== BLOCK_CODEC_ZSTD) throw bad(where, codec === undefined ? 'empty block' : `unknown block codec ${codec}`);
  try {
    const out = await zstdBinding().decompress(asBuffer(stored.subarray(1)));
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${where}: block does not decompress (${(err as Error).message})`, { object: where }, { cause: err });
  }
}

/**
 * The stored bytes of `entries` from a whole pack's bytes, each checked against its checksum
 * (blocks are decoded once however many of their chunks are asked for).
 * @example const [stored] = await readPackChunks(packBytes, [entry], 'packs/ab.pack');
 */
export async function readPackChunks(pack: Uint8Array, entries: readonly PackEntry[], packName: string): Promise<Uint8Array[]> {
  const blocks = new Map<number, Promise<Uint8Array>>();
  const out: Uint8Array[] = [];
  for (const e of entries) {
    if (e.offset + e.length > pack.length) throw bad(packName, `chunk ${toHex(e.address)} lies past the end of the pack`);
    let bytes: Uint8Array;
    if (e.within) {
      let decoded = blocks.get(e.offset);
      if (!decoded) {
        decoded = decodeBlock(pack.subarray(e.offset, e.offset + e.length), `${packName} block at ${e.offset}`);
        blocks.set(e.offset, decoded);
      }
      const d = await decoded;
      bytes = d.slice(e.within.offset, e.within.offset + e.within.length);
      if (bytes.length !== e.within.length) throw bad(packName, `chunk ${toHex(e.address)} lies past the end of its block`);
    } else {
      bytes = pack.slice(e.offset, e.offset + e.length);
    }
    if (!equalDigest(sha256(bytes), e.checksum)) {
      throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${packName}: chunk ${toHex(e.address)} does not match its checksum`, {
        object: packName,
        address: toHex(e.address),
      });
    }
    out.push(bytes);
  }
  return out;
}

function equalDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bad(packName: string, what: string): ProllyError {
  return new ProllyError(ErrorCodes.BAD_ENCODING, `${packName}: ${what}`, { object: packName });
}
