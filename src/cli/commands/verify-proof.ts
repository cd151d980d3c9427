/**
 * `git prolly verify-proof <proof.json|-> [--root HEX | --commit SHA] [--allowed-signers FILE]`: check
 * a proof without a repository. Trust comes from the given root, or the given commit id (through the
 * proof's anchor), or — with --allowed-signers alone — from the anchored commit's signature by an
 * allowed signer. Exit 0 valid, 1 invalid, 2 could not check (unreadable file, bad arguments).
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../errors.js';
import type { ProofResult, ProofValue } from '../../proof/types.js';
import { readStdin } from '../context.js';
import type { Output } from '../output.js';

function describeValue(v: ProofValue): string {
  if (v.type === 'blob') return `a blob of ${v.length} bytes (root chunk ${Buffer.from(v.address).toString('hex')})`;
  const text = Buffer.from(v.bytes).toString('utf8');
  const printable = /^[\x20-\x7e\t]*$/.test(text) && !text.includes('\uFFFD');
  const shown = printable ? JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text) : `0x${Buffer.from(v.bytes.subarray(0, 64)).toString('hex')}${v.bytes.length > 64 ? '…' : ''}`;
  return `${shown} (${v.bytes.length} bytes)`;
}

function keyText(k: Uint8Array | undefined): string {
  if (!k) return '(unknown)';
  const s = Buffer.from(k).toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${Buffer.from(k).toString('hex')}`;
}

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number> {
  const [file] = args as [string];
  const root = options.root as string | undefined;
  const commit = options.commit as string | undefined;
  const signersFile = options.allowedSigners as string | undefined;
  if (root !== undefined && !/^[0-9a-f]{64}$/.test(root)) throw invalidArgument(`--root must be 64 lower-case hex digits, got ${JSON.stringify(root)}`);
  if (commit !== undefined && !/^[0-9a-f]{40}$/.test(commit)) throw invalidArgument(`--commit must be a full commit id (40 lower-case hex digits), got ${JSON.stringify(commit)}`);
  if (root === undefined && commit === undefined && signersFile === undefined) {
    throw invalidArgument('nothing to verify against: pass --root HEX (a trusted root), --commit SHA (a trusted commit) or --allowed-signers FILE (trusted signers of the anchored commit)');
  }
  const text = file === '-' ? Buffer.from(await readStdin()).toString('utf8') : readFileSync(file, 'utf8');
  const [{ verifyProof }, signing] = await Promise.all([import('../../proof/verify.js'), signersFile !== undefined ? import('../../sign/index.js') : undefined]);
  const allowedSigners = signing ? await signing.readAllowedSignersFile(signersFile!) : undefined;

  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* verifyProof reports it as a format failure */
  }
  const anchor = (parsed as { anchor?: { commit?: unknown; commitObject?: unknown } } | null)?.anchor;
  // With signers alone, the anchored commit is what the signature vouches for.
  const trustedCommit = commit ?? (root === undefined && typeof anchor?.commit === 'string' && /^[0-9a-f]{40}$/.test(anchor.commit) ? anchor.commit : undefined);
  let result: ProofResult;
  if (root === undefined && trustedCommit === undefined) {
    result = { valid: false, kind: 'inclusion', check: 'anchor', reason: 'the proof has no anchor, so no signed commit vouches for it; verify it with --root' };
  } else {
    result = verifyProof(parsed, { ...(root !== undefined ? { root } : {}), ...(trustedCommit !== undefined ? { commit: trustedCommit } : {}) });
  }

  let signature: { status: string; principal?: string; fingerprint?: string; reason: string } | undefined;
  if (result.valid && allowedSigners) {
    if (!result.anchor) {
      result = { ...result, valid: false, check: 'anchor', reason: 'the proof has no anchor: there is no commit signature to check against --allowed-signers' };
    } else {
      const commitObject = new Uint8Array(Buffer.from(String((anchor as { commitObject: string }).commitObject), 'base64'));
      const sig = signing!.verifyCommitSignature({ commitObject, allowedSigners });
      signature = { status: sig.status, reason: sig.reason, ...(sig.principal ? { principal: sig.principal } : {}), ...(sig.fingerprint ? { fingerprint: sig.fingerprint } : {}) };
      if (!sig.valid) result = { ...result, valid: false, check: 'anchor', reason: `commit ${result.anchor.commit}: ${sig.reason}` };
    }
  }

  if (out.json) {
    await out.printJson({
      valid: result.valid,
      kind: result.kind,
      ...(result.valid ? {} : { check: result.check, reason: result.reason, node: result.node ?? null }),
      ...('key' in result && result.key ? { key: Buffer.from(result.key).toString('hex') } : {}),
      ...('value' in result && result.value ? { value: result.value.type === 'inline' ? { type: 'inline', hex: Buffer.from(result.value.bytes).toString('hex') } : { type: 'blob', address: Buffer.from(result.value.address).toString('hex'), length: result.value.length } } : {}),
      ...('entries' in result && result.entries ? { entries: result.entries.length } : {}),
      ...(result.anchor ? { commit: result.anchor.commit, dataset: result.anchor.dataset, signed: result.anchor.signed } : {}),
      ...(signature ? { signature } : {}),
    });
    return result.valid ? 0 : 1;
  }
  if (!result.valid) {
    process.stderr.write(`git-prolly: proof is INVALID (${result.check}${result.node !== undefined ? `, node ${result.node}` : ''}): ${result.reason}\n`);
    return 1;
  }
  const at = result.anchor ? ` in dataset ${result.anchor.dataset} at commit ${result.anchor.commit}` : '';
  const signer = signature ? ` (signed by ${signature.principal}, ${signature.fingerprint})` : result.anchor?.signed ? ' (signed; pass --allowed-signers to check the signer)' : '';
  if (result.kind === 'range') await out.line(`valid: range proof of ${result.entries!.length} entries${at}${signer}`);
  else if (result.kind === 'inclusion') await out.line(`valid: key ${keyText(result.key)} = ${describeValue(result.value!)}${at}${signer}`);
  else await out.line(`valid: key ${keyText(result.key)} is absent${at}${signer}`);
  return 0;
}
