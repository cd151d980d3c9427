import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import { DirectoryBackend } from '../../src/store/backends/directory-backend.js';
import { PackStore } from '../../src/store/pack/pack-store.js';
import { toHex, utf8 } from '../../src/util/bytes.js';
import { describeChunkStoreConformance } from '../store/conformance.js';
import { describePackStoreBehaviour } from './pack-store-suite.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'prolly-dirbackend-'));
}

describe('DirectoryBackend', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function backend() {
    const root = await tempDir();
    dirs.push(root);
    return { root, backend: new DirectoryBackend({ root }) };
  }

  it('puts, gets (whole and ranged), heads, lists by prefix and deletes objects', async () => {
    const { backend: b } = await backend();
    await b.put('packs/a.pack', utf8('0123456789'));
    await b.put('packs/b.pack', utf8('xy'));
    await b.put('manifest/s.seg', utf8('m'));
    expect(Buffer.from((await b.get('packs/a.pack'))!).toString()).toBe('0123456789');
    expect(Buffer.from((await b.get('packs/a.pack', { start: 2, end: 5 }))!).toString()).toBe('234');
    expect(Buffer.from((await b.get('packs/a.pack', { start: 8, end: 100 }))!).toString()).toBe('89');
    expect(await b.get('packs/none.pack')).toBeUndefined();
    expect(await b.head('packs/b.pack')).toEqual({ name: 'packs/b.pack', size: 2 });
    expect(await b.head('packs/none.pack')).toBeUndefined();
    const listed: string[] = [];
    for await (const o of b.list('packs/')) listed.push(`${o.name}:${o.size}`);
    expect(listed).toEqual(['packs/a.pack:10', 'packs/b.pack:2']);
    const all: string[] = [];
    for await (const o of b.list('')) all.push(o.name);
    expect(all.sort()).toEqual(['manifest/s.seg', 'packs/a.pack', 'packs/b.pack']);
    await b.delete('packs/a.pack');
    await b.delete('packs/a.pack'); // absent: not an error
    expect(await b.get('packs/a.pack')).toBeUndefined();
    expect(b.stats.puts).toBe(3);
  });

  it('put replaces atomically and leaves no temp files; putIfAbsent never replaces', async () => {
    const { root, backend: b } = await backend();
    await b.put('x/obj', utf8('one'));
    await b.put('x/obj', utf8('two'));
    expect(Buffer.from((await b.get('x/obj'))!).toString()).toBe('two');
    expect(await b.putIfAbsent('x/obj', utf8('three'))).toBe(false);
    expect(await b.putIfAbsent('x/new', utf8('four'))).toBe(true);
    expect(Buffer.from((await b.get('x/obj'))!).toString()).toBe('two');
    expect(Buffer.from((await b.get('x/new'))!).toString()).toBe('four');
    // Racing putIfAbsent calls: exactly one wins.
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => b.putIfAbsent('x/race', utf8(`v${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await readdir(join(root, 'x'))).sort()).toEqual(['new', 'obj', 'race']);
    // A stray temp file from a crashed writer is never listed as an object.
    await writeFile(join(root, 'x', 'obj.~tmp.deadbeef'), 'partial');
    const listed: string[] = [];
    for await (const o of b.list('x/')) listed.push(o.name);
    expect(listed).toEqual(['x/new', 'x/obj', 'x/race']);
  });

  it('rejects object names that could escape the root', async () => {
    const { backend: b } = await backend();
    for (const bad of ['../escape', 'a/../../b', '/abs', 'a//b', 'sp ace', '']) {
      await expect(b.put(bad, utf8('x'))).rejects.toMatchObject({ code: 'EINVAL' });
    }
    await expect(b.get('ok', { start: 5, end: 2 })).rejects.toBeInstanceOf(ProllyError);
  });

  it('a write failure is an EBACKEND error naming the object', async () => {
    const { root, backend: b } = await backend();
    await writeFile(join(root, 'file'), 'not a folder');
    const err = await b.put('file/child', utf8('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProllyError);
    expect((err as ProllyError).code).toBe('EBACKEND');
    expect((err as ProllyError).message).toContain('file/child');
    expect((await stat(join(root, 'file'))).isFile()).toBe(true);
  });
});

describeChunkStoreConformance('PackStore over DirectoryBackend', async () => {
  const root = await tempDir();
  return {
    store: new PackStore({ backend: new DirectoryBackend({ root }), targetPackBytes: 64 * 1024 }),
    reopen: async () => new PackStore({ backend: new DirectoryBackend({ root }), targetPackBytes: 64 * 1024 }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describePackStoreBehaviour('DirectoryBackend', async () => {
  const root = await tempDir();
  return {
    backend: new DirectoryBackend({ root }),
    reopen: () => new DirectoryBackend({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('PackStore basics', () => {
  it('serves chunks before flush from memory and after flush from packs', async () => {
    const root = await tempDir();
    try {
      const store = new PackStore({ backend: new DirectoryBackend({ root }) });
      const bytes = utf8('hello pack');
      const { sha256 } = await import('../../src/util/hash.js');
      const address = sha256(bytes);
      await store.put({ address, bytes });
      expect(toHex((await store.get(address))!)).toBe(toHex(bytes));
      expect(await readdir(root).catch(() => [])).toEqual([]); // nothing written before flush
      await store.close();
      expect((await readdir(join(root, 'packs'))).length).toBe(1);
      expect((await readdir(join(root, 'manifest'))).length).toBe(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
