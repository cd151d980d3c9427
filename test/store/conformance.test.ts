import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachingStore } from '../../src/store/caching-store.js';
import { CompressingStore } from '../../src/store/compressing-store.js';
import { LocalStore, openLocalStack } from '../../src/store/local-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { VerifyingStore } from '../../src/store/verifying-store.js';
import { describeChunkStoreConformance } from './conformance.js';

async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'prolly-store-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const noop = async (): Promise<void> => {};

describeChunkStoreConformance('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: noop }));

describeChunkStoreConformance('LocalStore', async () => {
  const { dir, cleanup } = await tempDir();
  return { store: await LocalStore.open({ dir }), reopen: () => LocalStore.open({ dir }), cleanup };
});

// Tiny packs and write buffer: every test crosses pack seals, direct writes of records larger
// than the buffer, and checkpoints on flush.
describeChunkStoreConformance('LocalStore (64 KiB packs, 8 KiB buffer)', async () => {
  const { dir, cleanup } = await tempDir();
  const open = (): Promise<LocalStore> =>
    LocalStore.open({ dir, packSizeLimit: 64 * 1024, writeBufferBytes: 8192, checkpointBytes: 16 * 1024 });
  return { store: await open(), reopen: open, cleanup };
});

describeChunkStoreConformance('CachingStore over MemoryStore', async () => ({
  store: new CachingStore({ inner: new MemoryStore(), maxBytes: 256 * 1024 }),
  cleanup: noop,
}));

describeChunkStoreConformance('VerifyingStore over MemoryStore', async () => ({
  store: new VerifyingStore({ inner: new MemoryStore() }),
  cleanup: noop,
}));

describeChunkStoreConformance('CompressingStore over MemoryStore', async () => ({
  store: new CompressingStore({ inner: new MemoryStore() }),
  cleanup: noop,
}));

describeChunkStoreConformance('openLocalStack (cache → verify → zstd → LocalStore)', async () => {
  const { dir, cleanup } = await tempDir();
  const open = async () => (await openLocalStack({ dir, cacheBytes: 1024 * 1024 })).store;
  return { store: await open(), reopen: open, cleanup };
});
