/**
 * Carving many small, write-once byte arrays out of a few large ones. Every `new Uint8Array(n)` is a
 * separate ArrayBuffer with its own backing store, and in a process holding a big node cache that
 * allocation — not filling the bytes — was most of the cost of emitting a tree node. The chunker
 * takes node bytes from a slab instead.
 *
 * Regions never overlap and are never handed out twice, so a view stays valid and private for as long
 * as it is referenced. The cost is retention: one live view keeps its whole slab alive, so anything
 * kept long-term (a decoded node in a cache) must be copied out rather than kept as a view.
 */

/** Slab size: about 15 typical 4 KiB nodes; a node can be at most 16 KiB. */
export const SLAB_BYTES = 64 * 1024;

/**
 * Bump allocator over fixed-size slabs.
 * @example
 * const slab = new ByteSlab();
 * const a = slab.alloc(4100); // a view into the current slab
 */
export class ByteSlab {
  private readonly slabBytes: number;
  private slab: Uint8Array;
  private used = 0;

  constructor(slabBytes = SLAB_BYTES) {
    this.slabBytes = slabBytes;
    this.slab = new Uint8Array(0);
  }

  /** A fresh, zeroed region of `n` bytes (a view). Requests larger than a slab get their own array. */
  alloc(n: number): Uint8Array {
    if (n > this.slabBytes) return new Uint8Array(n);
    if (this.used + n > this.slab.length) {
      this.slab = new Uint8Array(this.slabBytes);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}
