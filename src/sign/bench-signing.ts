/**
 * Throughput of commit signing and verification, for bench scripts (not a test: it never fails).
 */
import { formatAllowedSignersLine, parseAllowedSigners } from './allowed-signers.js';
import { signCommitPayload, verifyCommitSignature } from './commit-signing.js';
import { generateSshKeyPair, sshPublicKeyOf } from './ssh-key.js';

/** Figures from benchCommitSigning; rates are operations per second. */
export interface CommitSigningBench {
  signaturesPerSecond: number;
  verificationsPerSecond: number;
  signCount: number;
  verifyCount: number;
  payloadBytes: number;
}

/**
 * Sign typical commit payloads for `durationMs`, then verify the signed commits (payload rebuild,
 * SSHSIG check, allowed-signers lookup) for as long again.
 * @example console.log(JSON.stringify(benchCommitSigning({ durationMs: 500 })));
 */
export function benchCommitSigning(options: { durationMs?: number } = {}): CommitSigningBench {
  const durationMs = options.durationMs ?? 1000;
  const privateKey = generateSshKeyPair({ comment: 'bench@example.com' });
  const allowedSigners = parseAllowedSigners(formatAllowedSignersLine({ principal: 'bench@example.com', publicKey: sshPublicKeyOf(privateKey) }));
  const payload = (i: number) =>
    `tree ${'4b825dc642cb6eb9a060e54bf8d69288fbee4904'}\nparent ${i.toString(16).padStart(40, '0')}\n` +
    `author Bench <bench@example.com> ${1_700_000_000 + i} +0000\ncommitter Bench <bench@example.com> ${1_700_000_000 + i} +0000\n\n` +
    `prolly: update dataset orders (${i})\n`;

  const signed: Uint8Array[] = [];
  let start = performance.now();
  let signCount = 0;
  while (performance.now() - start < durationMs) {
    for (let j = 0; j < 50; j++, signCount++) {
      const text = payload(signCount);
      const signature = signCommitPayload({ payload: text, privateKey });
      if (signed.length < 2000) {
        const [headers, ...rest] = text.split('\n\n');
        const gpgsig = 'gpgsig ' + signature.trimEnd().split('\n').join('\n ') + '\n';
        signed.push(new TextEncoder().encode(`${headers}\n${gpgsig}\n${rest.join('\n\n')}`));
      }
    }
  }
  const signSeconds = (performance.now() - start) / 1000;

  start = performance.now();
  let verifyCount = 0;
  while (performance.now() - start < durationMs) {
    for (let j = 0; j < 50; j++, verifyCount++) {
      const r = verifyCommitSignature({ commitObject: signed[verifyCount % signed.length]!, allowedSigners });
      if (!r.valid) throw new Error(`bench produced a commit that does not verify: ${r.reason}`);
    }
  }
  const verifySeconds = (performance.now() - start) / 1000;
  return {
    signaturesPerSecond: Math.round(signCount / signSeconds),
    verificationsPerSecond: Math.round(verifyCount / verifySeconds),
    signCount,
    verifyCount,
    payloadBytes: new TextEncoder().encode(payload(0)).length,
  };
}
