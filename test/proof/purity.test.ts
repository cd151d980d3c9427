/**
 * The verifier is the `git-prolly/verify` entry point and must run in browsers: no node:* modules, no
 * Buffer, no process, no I/O anywhere in what src/proof/index.ts pulls in.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as verifyEntry from '../../src/proof/index.js';
import { proveKey, proveRange } from '../../src/proof/prove.js';
import { numberedTree } from './helpers.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every source file reachable through static imports from `entry`, with the bare imports each makes. */
function importGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const bare: string[] = [];
    seen.set(file, bare);
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(spec);
    }
  };
  visit(entry);
  return seen;
}

describe('the verify entry point is pure', () => {
  const graph = importGraph(resolve(SRC, 'proof/index.ts'));

  test('it imports only @noble/hashes and never node:*, Buffer, process or the tree engine', () => {
    expect(graph.size).toBeGreaterThanOrEqual(3);
    for (const [file, bare] of graph) {
      for (const spec of bare) expect(spec, `${file} imports ${spec}`).toMatch(/^@noble\/hashes\//);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\bBuffer\b|\bprocess\b|\brequire\(/);
      expect(file, 'the verifier decodes nodes itself').not.toMatch(/src\/(tree|util|store|blob)\//);
    }
  });

  test('verification runs with Buffer removed from the global scope', async () => {
    const tree = await numberedTree(3000);
    const proof = JSON.parse(JSON.stringify(await proveKey(tree, new TextEncoder().encode('key-00001234'))));
    const range = JSON.parse(JSON.stringify(await proveRange(tree, { start: new TextEncoder().encode('key-00000100'), end: new TextEncoder().encode('key-00000300') })));
    const root = Uint8Array.from(tree.root);
    const g = globalThis as { Buffer?: unknown };
    const saved = g.Buffer;
    let results: unknown[];
    delete g.Buffer;
    try {
      results = [verifyEntry.verifyProof(proof, { root }), verifyEntry.verifyRangeProof(range, { root })];
    } finally {
      g.Buffer = saved;
    }
    expect(results).toMatchObject([
      { valid: true, kind: 'inclusion' },
      { valid: true, kind: 'range', entries: expect.any(Array) },
    ]);
    expect((results[1] as { entries: unknown[] }).entries.length).toBe(201);
  });

  test('exports only the verifier and constants (types erase)', () => {
    expect(Object.keys(verifyEntry).sort()).toEqual(['PROOF_FORMAT', 'PROOF_VERSION', 'verifyProof', 'verifyRangeProof']);
  });
});
