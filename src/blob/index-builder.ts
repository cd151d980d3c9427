/**
 * Builds a blob's index (docs/FORMAT.md, "Blobs") one data-chunk entry at a time, in bounded memory
 * (at most BLOB_INDEX_MAX_ENTRIES pending entries per level). The result is the same as the
 * level-by-level definition in FORMAT.md: group a level's entries into nodes, closing a node after an
 * entry whose address is a boundary (once the node has 2+ entries) or when it reaches 256 entries; if a
 * level yields a single node that node is the root, otherwise its nodes are the next level's entries.
 */
import type { Chunk } from '../store/chunk-store.js';
import { sha256 } from '../util/hash.js';
import { BLOB_INDEX_MAX_ENTRIES, encodeBlobIndexNode, isBlobIndexBoundary, type BlobIndexEntry } from './blob-index.js';

interface IndexLevel {
  /** Entries not yet closed into a node. */
  pending: BlobIndexEntry[];
  /** Nodes emitted at this level so far. */
  nodes: number;
  /** The level's first node, held back until a second exists: a lone node is the root, not an entry above. */
  held: BlobIndexEntry | undefined;
}

/**
 * Streaming index builder. `emit` receives every index node (address + canonical bytes) as soon as it
 * is closed, children before parents.
 *
 * @example
 * const b = new BlobIndexBuilder((node) => batch.push(node));
 * for (const c of dataChunks) b.add({ address: sha256(c), length: c.length });
 * const root = b.finish(); // { address, length }
 */
export class BlobIndexBuilder {
  private readonly levels: IndexLevel[] = [];
  private readonly emit: (node: Chunk) => void;
  private finished = false;

  constructor(emit: (node: Chunk) => void) {
    this.emit = emit;
  }

  /** Append the next data chunk's entry. */
  add(entry: BlobIndexEntry): void {
    if (this.finished) throw new Error('BlobIndexBuilder.add after finish()');
    this.addAt(0, entry);
  }

  /** Close every level bottom-up and return the root entry (its address and the blob's length). */
  finish(): BlobIndexEntry {
    if (this.finished) throw new Error('BlobIndexBuilder.finish called twice');
    this.finished = true;
    for (let level = 0; ; level++) {
      const lv = this.level(level);
      // An empty blob still gets a root: a level-0 node with no entries.
      if (lv.pending.length > 0 || (level === 0 && lv.nodes === 0)) this.close(level);
      if (lv.nodes === 1) return lv.held!;
    }
  }

  private addAt(level: number, entry: BlobIndexEntry): void {
    const lv = this.level(level);
    lv.pending.push(entry);
    const n = lv.pending.length;
    if (n >= BLOB_INDEX_MAX_ENTRIES || (n >= 2 && isBlobIndexBoundary(entry.address))) this.close(level);
  }

  private close(level: number): void {
    const lv = this.level(level);
    const entries = lv.pending;
    lv.pending = [];
    const bytes = encodeBlobIndexNode({ level, entries });
    const address = sha256(bytes);
    this.emit({ address, bytes });
    let total = 0;
    for (const e of entries) total += e.length;
    const entry = { address, length: total };
    lv.nodes++;
    if (lv.nodes === 1) {
      lv.held = entry;
      return;
    }
    if (lv.held) {
      this.addAt(level + 1, lv.held);
      lv.held = undefined;
    }
    this.addAt(level + 1, entry);
  }

  private level(level: number): IndexLevel {
    let lv = this.levels[level];
    if (!lv) {
      lv = { pending: [], nodes: 0, held: undefined };
      this.levels[level] = lv;
    }
    return lv;
  }
}
