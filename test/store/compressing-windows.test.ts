/**
 * CompressingStore.putMany hands chunks down in windows (so the layers below work while the next
 * window compresses), in order, each chunk once.
 */
import { describe, expect, it } from 'vitest';
import type { Chunk, ChunkStore } from '../../src/store/chunk-store.js';
import { CompressingStore } from '../../src/store/compressing-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/hash.js';

class Recording extends MemoryStore implements ChunkStore {
  calls: Chunk[][] = [];
  override async putMany(chunks: readonly Chunk[]): Promise<void> {
    this.calls.push([...chunks]);
    await super.putMany(chunks);
  }
}

function rowsChunk(i: number, size: number): Chunk {
  const bytes = new Uint8Array(Buffer.from(`row ${i} `.repeat(Math.ceil(size / 8)).slice(0, size)));
  return { address: sha256(bytes), bytes };
}

describe('CompressingStore windows', () => {
  it('passes 1,000 chunks down in order, in windows of at most 256 chunks or about 1 MiB', async () => {
    const inner = new Recording();
    const store = new CompressingStore({ inner, level: 3 });
    const chunks = Array.from({ length: 1000 }, (_, i) => rowsChunk(i, i % 100 === 0 ? 300_000 : 2000));
    await store.putMany(chunks);
    expect(inner.calls.length).toBeGreaterThan(4);
    for (const call of inner.calls) {
      expect(call.length).toBeLessThanOrEqual(256);
      // A window closes once it holds 1 MiB of input: at most one big chunk over.
      const input = call.reduce((a, c) => a + (chunks.find((x) => toHex(x.address) === toHex(c.address))!.bytes.length), 0);
      expect(input).toBeLessThan(1024 * 1024 + 300_000);
    }
    expect(inner.calls.flat().map((c) => toHex(c.address))).toEqual(chunks.map((c) => toHex(c.address)));
    const back = await store.getMany(chunks.map((c) => c.address));
    back.forEach((b, i) => expect(toHex(b!)).toBe(toHex(chunks[i]!.bytes)));
  });

  it('stops at the first failure below and reports it', async () => {
    class Failing extends Recording {
      override async putMany(chunks: readonly Chunk[]): Promise<void> {
        if (this.calls.length === 1) throw new Error('disk full');
        await super.putMany(chunks);
      }
    }
    const inner = new Failing();
    const store = new CompressingStore({ inner, level: 1 });
    const chunks = Array.from({ length: 600 }, (_, i) => rowsChunk(i, 1000));
    await expect(store.putMany(chunks)).rejects.toThrow('disk full');
    expect(inner.calls).toHaveLength(1);
  });
});
