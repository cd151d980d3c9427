/**
 * `git prolly proof <dataset> [key] [--at rev] [--start a --end b] [-o proof.json]`: a Merkle proof
 * that `key` has its value (or is absent), or of every entry in [a, b], as of a commit — anchored to
 * that commit so the one file proves "in commit C, key K had value V". Check it with verify-proof.
 */
import { invalidArgument } from '../../errors.js';
import { keyBytes } from '../../dataset/values.js';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { fromHex, utf8 } from '../../util/bytes.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

function keyOption(value: unknown, hex: boolean, name: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!hex) return keyBytes(s);
  if (!/^([0-9a-f]{2})*$/.test(s)) throw invalidArgument(`${name} must be lower-case hex with --hex, got ${JSON.stringify(s)}`);
  return fromHex(s);
}

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [dataset, key] = args as [string, string | undefined];
  const hex = Boolean(options.hex);
  const start = keyOption(options.start, hex, '--start');
  const end = keyOption(options.end, hex, '--end');
  const ranged = start !== undefined || end !== undefined || Boolean(options.all);
  if (key !== undefined && ranged) throw invalidArgument('give a key, or a range (--start / --end / --all), not both');
  if (key === undefined && !ranged) throw invalidArgument('give a key to prove, or a range with --start / --end (or --all)');
  await withRepo('proof', async (repo) => {
    const { proveDataset } = await import('../../proof/repo-proof.js');
    const proof = await proveDataset(repo, {
      dataset,
      at: options.at as string | undefined,
      ...(key !== undefined ? { key: keyOption(key, hex, 'key')! } : { range: { start: start ?? null, end: end ?? null } }),
      anchor: options.anchor !== false,
    });
    const text = JSON.stringify(proof) + '\n';
    const file = options.output as string | undefined;
    if (!file || file === '-') {
      await out.bytes(utf8(text));
      return;
    }
    writeFileAtomicSync(file, utf8(text));
    const what =
      proof.kind === 'range'
        ? `range proof of ${proof.entries.length} entries`
        : `${proof.kind} proof of key ${JSON.stringify(key)}`;
    const anchored = proof.anchor ? ` at commit ${proof.anchor.commit.slice(0, 12)}` : ' (not anchored)';
    const summary = `${what} in ${dataset}${anchored}: ${text.length} bytes → ${file}`;
    if (out.json) await out.printJson({ file, kind: proof.kind, dataset, root: proof.root, commit: proof.anchor?.commit ?? null, bytes: text.length });
    else process.stderr.write(`${summary}\n`);
  });
}
