/**
 * Building trees bottom-up from sorted entries: one LevelChunker per level, each closed node feeding
 * an entry to the level above. Used for imports and for growing new levels on top after a mutation.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import { compareBytes } from '../util/bytes.js';
import { LevelChunker, type ChunkedNode } from './chunker.js';
import { ChildRef, MAX_KEY_BYTES, type EntryValue } from './node.js';
import { EMPTY_ROOT, type NodeStore } from './node-store.js';

/**
 * A stack of level chunkers. Entries go in at `baseLevel`; closed nodes propagate upward; `finish()`
 * returns the root (the first level that ends with exactly one node).
 */
export class TreeBuilder {
  private readonly nodes: NodeStore;
  private readonly levels: LevelChunker[] = [];
  private readonly baseLevel: number;
  /** The only node a level has emitted, while it has emitted only one. */
  private readonly firstNode: (ChunkedNode | undefined)[] = [];

  constructor(nodes: NodeStore, baseLevel = 0) {
    this.nodes = nodes;
    this.baseLevel = baseLevel;
  }

  /** Add an entry at the base level: a leaf value, or a child reference when building upper levels. */
  add(key: Uint8Array, value: EntryValue): void {
    this.chunker(0).add(key, value);
  }

  /** Hand queued node writes to the store when the batch is large. */
  drain(): Promise<void> {
    return this.nodes.drain();
  }

  /** Close every level and return the root node's address, or the empty root when nothing was added. */
  finish(): Uint8Array {
    // Each level has fewer nodes than the one below, so some level ends with exactly one: the root.
    for (let i = 0; i < this.levels.length; i++) {
      const c = this.levels[i]!;
      c.finish();
      if (c.emitted === 1) return this.firstNode[i]!.address;
    }
    this.nodes.write(EMPTY_ROOT.address, EMPTY_ROOT.bytes);
    return EMPTY_ROOT.address;
  }

  private chunker(i: number): LevelChunker {
    let c = this.levels[i];
    if (!c) {
      c = new LevelChunker(this.baseLevel + i, (node) => this.onNode(i, node));
      this.levels[i] = c;
    }
    return c;
  }

  private onNode(i: number, node: ChunkedNode): void {
    this.nodes.write(node.address, node.bytes);
    this.firstNode[i] = this.chunker(i).emitted === 0 ? node : undefined;
    this.chunker(i + 1).add(node.lastKey, new ChildRef(node.address, node.count));
  }
}

/** Throw EKEYTOOLONG when a key exceeds the maximum. */
export function checkKey(key: Uint8Array): void {
  if (key.length > MAX_KEY_BYTES) {
    throw new ProllyError(ErrorCodes.KEY_TOO_LONG, `key of ${key.length} bytes is longer than the ${MAX_KEY_BYTES}-byte maximum`, {
      keyLength: key.length,
      max: MAX_KEY_BYTES,
    });
  }
}

/** Throw EINVAL when keys arrive out of order or repeated during a sorted build. */
export function checkAscending(prev: Uint8Array | undefined, key: Uint8Array): void {
  if (prev && compareBytes(prev, key) >= 0) {
    throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, 'entries for a sorted build must be in strictly increasing key order', {
      key: Buffer.from(key).toString('hex'),
    });
  }
}
