/**
 * Large values as content-defined-chunked blobs (docs/FORMAT.md, "Blobs").
 *
 * @example
 * import { writeBlob, readBlob } from './blob/index.js';
 * const ref = await writeBlob(store, bytes);
 * for await (const part of readBlob(store, ref)) sink.write(part);
 */
export { BlobRef, INLINE_VALUE_MAX, type TreeValue } from './blob-ref.js';
export { writeBlob, BlobWriter, type BlobSource, type ReadableStreamLike, type WriteBlobOptions } from './write-blob.js';
export { readBlob, readBlobRange, readBlobBytes, blobChunkAddresses, type ReadBlobOptions } from './read-blob.js';
export {
  BLOB_INDEX_TAG,
  BLOB_INDEX_MAX_ENTRIES,
  BLOB_INDEX_MAX_LEVEL,
  BLOB_INDEX_BOUNDARY_THRESHOLD,
  encodeBlobIndexNode,
  decodeBlobIndexNode,
  isBlobIndexBoundary,
  type BlobIndexEntry,
  type BlobIndexNode,
} from './blob-index.js';
export { BlobIndexBuilder } from './index-builder.js';
export {
  CDC_MIN_SIZE,
  CDC_AVG_SIZE,
  CDC_MAX_SIZE,
  CDC_MASK_S,
  CDC_MASK_L,
  fastCdcCut,
  cdcChunks,
  FastCdcChunker,
} from './fastcdc.js';
export { GEAR_TABLE, deriveGearTable } from './gear.js';
