/**
 * Removing chunks from a pack store (age-based tiering moves them to a colder backend first). Packs
 * are immutable, so eviction rewrites: a pack whose chunks all go is deleted, a pack that keeps some
 * is repacked with only those, and one new manifest segment lists what remains. The order keeps the
 * manifest valid at every step — new packs, then the new segment, then the old segments, then the
 * old packs — so a reader never finds a listed chunk whose pack is gone for longer than the
 * deletes take; one that does fails over to the next tier, which already holds the chunk.
 */
import { ErrorCodes, ProllyError } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { sha256 } from '../../util/hash.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import { MANIFEST_PREFIX, ManifestSegment, segmentHashOfName, segmentObjectName, type ChunkLocation, type PackInfo } from '../pack/manifest.js';
import { encodePackAsync, packObjectName, readPackChunks, type PackEntry } from '../pack/pack-format.js';

/** Options of {@link evictChunks}. */
export interface EvictOptions {
  backend: ObjectBackend;
  /** True for chunks to remove. */
  evict: (address: Uint8Array) => boolean;
  /** Seal a rewritten pack at this many bytes (default 8 MiB). */
  targetPackBytes?: number;
  /** Only report what would happen. */
  dryRun?: boolean;
}

/** What an eviction did (or would do). */
export interface EvictResult {
  chunksEvicted: number;
  bytesEvicted: number;
  packsDeleted: number;
  packsRewritten: number;
  packsWritten: number;
}

/**
 * Remove the chunks `evict` selects from the packs and manifest under `backend`.
 * @example await evictChunks({ backend, evict: (a) => old.has(toHex(a)) })
 */
export async function evictChunks(opts: EvictOptions): Promise<EvictResult> {
  const { backend } = opts;
  const segmentNames: string[] = [];
  for await (const o of backend.list(MANIFEST_PREFIX)) if (segmentHashOfName(o.name)) segmentNames.push(o.name);
  let union = ManifestSegment.empty();
  for (const name of segmentNames) {
    const bytes = await backend.get(name);
    if (!bytes) continue;
    if (toHex(sha256(bytes)) !== segmentHashOfName(name)) {
      throw new ProllyError(ErrorCodes.CHUNK_CORRUPT, `${backend.name}: manifest segment ${name} does not hash to its name`, { object: name });
    }
    union = ManifestSegment.merge(union, ManifestSegment.decode(bytes, `${backend.name}/${name}`));
  }
  const byPack = new Map<string, { info: PackInfo; keep: ChunkLocation[]; drop: ChunkLocation[] }>();
  for (const p of union.packs) byPack.set(toHex(p.hash), { info: p, keep: [], drop: [] });
  for (let k = 0; k < union.count; k++) {
    const loc = union.at(k);
    const g = byPack.get(toHex(loc.pack.hash))!;
    (opts.evict(loc.address) ? g.drop : g.keep).push(loc);
  }
  const result: EvictResult = { chunksEvicted: 0, bytesEvicted: 0, packsDeleted: 0, packsRewritten: 0, packsWritten: 0 };
  const retained: { info: PackInfo; entries: PackEntry[] }[] = [];
  const doomed: PackInfo[] = [];
  const carried: { address: Uint8Array; bytes: Uint8Array; checksum: Uint8Array }[] = [];
  /** Chunks that were in compressed blocks go into compressed blocks again. */
  const inBlocks = new Set<string>();
  for (const g of byPack.values()) {
    result.chunksEvicted += g.drop.length;
    for (const d of g.drop) result.bytesEvicted += d.within?.length ?? d.length;
    if (g.drop.length === 0) {
      retained.push({ info: g.info, entries: g.keep.map(entryOf) });
      continue;
    }
    doomed.push(g.info);
    if (g.keep.length === 0) {
      result.packsDeleted++;
      continue;
    }
    result.packsRewritten++;
    if (opts.dryRun) continue;
    const name = packObjectName(g.info.hash);
    const bytes = await backend.get(name);
    if (!bytes) throw new ProllyError(ErrorCodes.CHUNK_MISSING, `${backend.name}: pack ${name} listed in the manifest is missing`, { object: name });
    const keep = [...g.keep].sort((a, b) => a.offset - b.offset || (a.within?.offset ?? 0) - (b.within?.offset ?? 0));
    // Checked against their checksums (chunks in compressed blocks are decoded first).
    const stored = await readPackChunks(bytes, keep.map(entryOf), `${backend.name}: pack ${name}`);
    keep.forEach((loc, i) => {
      carried.push({ address: loc.address, bytes: stored[i]!, checksum: loc.checksum });
      if (loc.within) inBlocks.add(toHex(loc.address));
    });
  }
  if (opts.dryRun || doomed.length === 0) {
    if (opts.dryRun) result.packsWritten = carried.length > 0 || result.packsRewritten > 0 ? 1 : 0;
    return result;
  }
  const target = opts.targetPackBytes ?? 8 * 1024 * 1024;
  const fresh: { info: PackInfo; entries: PackEntry[] }[] = [];
  for (let i = 0; i < carried.length; ) {
    const part: typeof carried = [];
    let size = 0;
    while (i < carried.length && (part.length === 0 || size < target)) {
      size += carried[i]!.bytes.length;
      part.push(carried[i++]!);
    }
    const pack = await encodePackAsync(
      part,
      part.some((c) => inBlocks.has(toHex(c.address))) ? { level: 3, compressible: (_, address) => inBlocks.has(toHex(address)) } : undefined,
    );
    await backend.put(packObjectName(pack.hash), pack.bytes, { sha256: pack.hash });
    result.packsWritten++;
    fresh.push({ info: { hash: pack.hash, size: pack.bytes.length, indexOffset: pack.indexOffset, chunkCount: pack.entries.length }, entries: pack.entries });
  }
  const segment = ManifestSegment.fromPacks([...retained, ...fresh]);
  const segName = segmentObjectName(segment.hash());
  await backend.put(segName, segment.encode(), { sha256: segment.hash() });
  for (const name of segmentNames) if (name !== segName) await backend.delete(name);
  for (const p of doomed) await backend.delete(packObjectName(p.hash));
  return result;
}

function entryOf(loc: ChunkLocation): PackEntry {
  return { address: loc.address, checksum: loc.checksum, offset: loc.offset, length: loc.length, ...(loc.within ? { within: loc.within } : {}) };
}
