import { ADDRESS_BYTES } from '../util/hash.js';
import { invalidArgument } from '../errors.js';

/**
 * A leaf value that lives outside the tree node: the address of the blob's root index chunk and the
 * blob's total length in bytes. Values longer than INLINE_VALUE_MAX are stored this way
 * (docs/FORMAT.md, "Blobs").
 *
 * @example
 * const ref = new BlobRef(rootAddress, 200_000_000);
 * if (value instanceof BlobRef) stream = readBlob(store, value);
 */
export class BlobRef {
  readonly address: Uint8Array;
  readonly length: number;
  constructor(address: Uint8Array, length: number) {
    if (address.length !== ADDRESS_BYTES) throw invalidArgument(`blob address must be ${ADDRESS_BYTES} bytes, got ${address.length}`);
    if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`blob length must be a non-negative integer, got ${length}`);
    this.address = address;
    this.length = length;
  }
}

/** Values up to this many bytes are stored inline in leaf nodes; longer ones become blobs. */
export const INLINE_VALUE_MAX = 1024;

/** What a leaf holds for a key: the bytes themselves, or a reference to a blob. */
export type TreeValue = Uint8Array | BlobRef;
