import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAllowedSignersLine } from '../../src/sign/allowed-signers.js';
import {
  generateSshKeyPair,
  parseOpenSshPrivateKey,
  sshPublicKeyOf,
  writeOpenSshKeyFiles,
  type SshEd25519PrivateKey,
} from '../../src/sign/ssh-key.js';
import { parseSshsig, signSshsig, verifySshsig } from '../../src/sign/sshsig.js';
import { makeTempDir, run, runOk } from './helpers.js';

let dir: string;
let cleanup: () => void;
let theirKeyPath: string;
let theirKey: SshEd25519PrivateKey;
let ourKeyPath: string;
let ourKey: SshEd25519PrivateKey;

beforeAll(async () => {
  ({ dir, cleanup } = makeTempDir());
  theirKeyPath = join(dir, 'their_key');
  runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'them@example.com', '-f', theirKeyPath], { home: dir });
  theirKey = parseOpenSshPrivateKey(readFileSync(theirKeyPath, 'utf8'), { source: theirKeyPath });
  ourKey = generateSshKeyPair({ comment: 'us@example.com' });
  ourKeyPath = join(dir, 'our_key');
  await writeOpenSshKeyFiles({ path: ourKeyPath, privateKey: ourKey });
  writeFileSync(
    join(dir, 'allowed_signers'),
    formatAllowedSignersLine({ principal: 'them@example.com', publicKey: sshPublicKeyOf(theirKey) }) +
      '\n' +
      formatAllowedSignersLine({ principal: 'us@example.com', publicKey: sshPublicKeyOf(ourKey) }) +
      '\n',
  );
});
afterAll(() => cleanup());

const messages: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['text', new TextEncoder().encode('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 0 +0000\n\nmsg\n')],
  ['binary', Uint8Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) & 0xff)],
  ['no trailing newline + CRLF', new TextEncoder().encode('line one\r\nline two')],
];

let signCount = 0;

/** ssh-keygen -Y sign over `message`; returns the armored .sig file text. */
function sshKeygenSign(keyPath: string, message: Uint8Array, namespace: string, extra: string[] = []): string {
  // A fresh name each time: ssh-keygen will not overwrite an existing .sig without asking.
  const msgPath = join(dir, `msg-${++signCount}`);
  writeFileSync(msgPath, message);
  runOk('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', keyPath, ...extra, msgPath], { home: dir });
  return readFileSync(`${msgPath}.sig`, 'utf8');
}

function sshKeygenVerify(signature: string, message: Uint8Array, principal: string, namespace = 'git') {
  const sigPath = join(dir, 'check.sig');
  writeFileSync(sigPath, signature);
  return run('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', principal, '-n', namespace, '-s', sigPath], {
    home: dir,
    input: message,
  });
}

describe('signSshsig against ssh-keygen -Y sign', () => {
  for (const [name, message] of messages) {
    it(`is byte-for-byte ssh-keygen's output (${name}), for their key and ours`, () => {
      for (const [keyPath, key] of [
        [theirKeyPath, theirKey],
        [ourKeyPath, ourKey],
      ] as const) {
        const theirs = sshKeygenSign(keyPath, message, 'git');
        const ours = signSshsig({ privateKey: key, namespace: 'git', message });
        expect(ours).toBe(theirs);
      }
    });
  }

  it('matches ssh-keygen for sha256 and another namespace too', () => {
    const message = messages[1]![1];
    const theirs = sshKeygenSign(theirKeyPath, message, 'file', ['-O', 'hashalg=sha256']);
    expect(signSshsig({ privateKey: theirKey, namespace: 'file', message, hashAlgorithm: 'sha256' })).toBe(theirs);
    expect(parseSshsig(theirs)).toMatchObject({ namespace: 'file', hashAlgorithm: 'sha256', signatureAlgorithm: 'ssh-ed25519' });
  });

  it('a string message signs its UTF-8 bytes', () => {
    const text = 'héllo ✓\n';
    expect(signSshsig({ privateKey: ourKey, namespace: 'git', message: text })).toBe(
      signSshsig({ privateKey: ourKey, namespace: 'git', message: new TextEncoder().encode(text) }),
    );
  });

  it('rejects an empty namespace and an unknown hash', () => {
    expect(() => signSshsig({ privateKey: ourKey, namespace: '', message: 'x' })).toThrow(/namespace/);
    expect(() => signSshsig({ privateKey: ourKey, namespace: 'git', message: 'x', hashAlgorithm: 'md5' as never })).toThrow(/sha512/);
  });
});

describe('verification, both directions', () => {
  it('ssh-keygen -Y verify accepts our signatures', () => {
    for (const [, message] of messages) {
      const sig = signSshsig({ privateKey: ourKey, namespace: 'git', message });
      const r = sshKeygenVerify(sig, message, 'us@example.com');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Good "git" signature for us@example.com');
    }
  });

  it('ssh-keygen -Y verify rejects our signature on another message, principal or namespace', () => {
    const sig = signSshsig({ privateKey: ourKey, namespace: 'git', message: 'payload\n' });
    expect(sshKeygenVerify(sig, new TextEncoder().encode('payload!\n'), 'us@example.com').status).not.toBe(0);
    expect(sshKeygenVerify(sig, new TextEncoder().encode('payload\n'), 'them@example.com').status).not.toBe(0);
    expect(sshKeygenVerify(sig, new TextEncoder().encode('payload\n'), 'us@example.com', 'file').status).not.toBe(0);
  });

  it("we accept ssh-keygen's signatures, and report the signer key", () => {
    for (const [, message] of messages) {
      const sig = sshKeygenSign(theirKeyPath, message, 'git');
      const r = verifySshsig({ signature: sig, message, namespace: 'git' });
      expect(r).toMatchObject({ valid: true, namespace: 'git', hashAlgorithm: 'sha512' });
      expect(r.publicKey!.blob).toEqual(sshPublicKeyOf(theirKey).blob);
      expect(verifySshsig({ signature: sig, message, namespace: 'git', publicKey: sshPublicKeyOf(theirKey) }).valid).toBe(true);
    }
    const sha256 = sshKeygenSign(theirKeyPath, messages[2]![1], 'git', ['-O', 'hashalg=sha256']);
    expect(verifySshsig({ signature: sha256, message: messages[2]![1], namespace: 'git' }).valid).toBe(true);
  });

  it('gives reasons: wrong namespace, other key required, changed message', () => {
    const message = messages[1]![1];
    const sig = sshKeygenSign(theirKeyPath, message, 'git');
    expect(verifySshsig({ signature: sig, message, namespace: 'file' })).toMatchObject({ valid: false, reason: expect.stringMatching(/namespace/) });
    expect(verifySshsig({ signature: sig, message, namespace: 'git', publicKey: sshPublicKeyOf(ourKey) })).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/different key/),
    });
    const changed = Uint8Array.from(message);
    changed[changed.length - 2] ^= 1;
    expect(verifySshsig({ signature: sig, message: changed, namespace: 'git' })).toMatchObject({ valid: false, reason: expect.stringMatching(/bad signature/) });
  });

  it('never throws on garbage; says why', () => {
    const sig = signSshsig({ privateKey: ourKey, namespace: 'git', message: 'm' });
    const blob = Buffer.from(sig.split('\n').slice(1, -2).join(''), 'base64');
    const rearmor = (b: Buffer) => `-----BEGIN SSH SIGNATURE-----\n${b.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const cases = [
      '',
      'not a signature',
      sig.replace('-----END SSH SIGNATURE-----', ''),
      rearmor(blob.subarray(0, blob.length - 10)),
      rearmor(Buffer.concat([blob, Buffer.from([0])])),
      rearmor(Buffer.concat([Buffer.from('SSHSIX'), blob.subarray(6)])),
    ];
    for (const c of cases) {
      const r = verifySshsig({ signature: c, message: 'm', namespace: 'git' });
      expect(r.valid).toBe(false);
      expect(r.reason.length).toBeGreaterThan(0);
    }
  });

  it('property: any single flipped bit in message or signature bytes fails verification', () => {
    const key = generateSshKeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.boolean(), (message, pick, flipSignature) => {
        const sig = signSshsig({ privateKey: key, namespace: 'git', message });
        expect(verifySshsig({ signature: sig, message, namespace: 'git' }).valid).toBe(true);
        if (flipSignature) {
          const blob = Buffer.from(sig.split('\n').slice(1, -2).join(''), 'base64');
          const bit = pick % (blob.length * 8);
          blob[bit >> 3] ^= 1 << (bit & 7);
          const tampered = `-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
          const r = verifySshsig({ signature: tampered, message, namespace: 'git', publicKey: sshPublicKeyOf(key) });
          expect(r.valid).toBe(false);
        } else if (message.length > 0) {
          const changed = Uint8Array.from(message);
          const bit = pick % (message.length * 8);
          changed[bit >> 3]! ^= 1 << (bit & 7);
          expect(verifySshsig({ signature: sig, message: changed, namespace: 'git' }).valid).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
